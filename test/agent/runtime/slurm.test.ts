/**
 * The Slurm runtime against the real single-host cluster scripts/start-test-slurm.sh starts (Debian's slurm-wlm
 * 22.05 and munge): its jobs run the locally built test image through this machine's Docker engine, on shared
 * storage that is, here, a temp directory.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SlurmRuntime, type SlurmRuntimeOptions } from "../../../src/agent/runtime/slurm.js";
import { RuntimeError, RuntimeTimeoutError } from "../../../src/agent/runtime/types.js";
import {
  requires,
  slurmAccountingRequirement,
  slurmPodmanRequirement,
  slurmRequirement,
  testImage,
} from "../../support/requirements.js";
import { holdSharedResource } from "../../support/shared-resource.js";
import { mountSmallDisk, smallDiskRequirement } from "../../support/small-disk.js";
import { describeRuntimeConformance, jobFixtures, jobSpec, waitForExit } from "./conformance.js";

// One file at a time on the cluster: another drains its node or fills it with 50 jobs (so its turn comes before the
// check that the node takes jobs).
await holdSharedResource("slurm-cluster");
const slurmOk = requires(await slurmRequirement());
const podmanOk = requires(await slurmPodmanRequirement());
const accountingOk = requires(await slurmAccountingRequirement());

const shared = mkdtempSync(join(tmpdir(), "rap-slurm-shared-"));
const state = mkdtempSync(join(tmpdir(), "rap-slurm-state-"));
afterAll(() => {
  rmSync(shared, { recursive: true, force: true });
  rmSync(state, { recursive: true, force: true });
});

const options = (extra: Partial<SlurmRuntimeOptions> = {}): SlurmRuntimeOptions => ({
  sharedDir: shared,
  stateDir: state,
  ...extra,
});

/** Cancels the job behind the runtime's back and deletes what it recorded, as if the cluster had lost it. */
async function loseJob(name: string): Promise<void> {
  const dir = join(shared, "jobs", name);
  const id = readFileSync(join(dir, "slurm-job-id"), "utf8").trim();
  execFileSync("scancel", [id]);
  for (;;) {
    const live = execFileSync("squeue", ["--noheader", "--jobs", id, "--format=%T"], {
      encoding: "utf8",
    }).trim();
    if (live === "" || !/PENDING|RUNNING|COMPLETING|CONFIGURING/.test(live)) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  rmSync(dir, { recursive: true, force: true });
}

describe.skipIf(!slurmOk)("SlurmRuntime conformance", { timeout: 60_000 }, () => {
  describeRuntimeConformance(() => ({
    create: (extra) => new SlurmRuntime(options(extra)),
    removeFromOutside: loseJob,
    image: testImage,
  }));
});

describe.skipIf(!podmanOk)(
  "SlurmRuntime conformance, podman as the nodes' engine",
  { timeout: 60_000 },
  () => {
    describeRuntimeConformance(() => ({
      create: (extra) => new SlurmRuntime(options({ engine: "podman", ...extra })),
      removeFromOutside: loseJob,
      image: testImage,
    }));
  },
);

describe.skipIf(!podmanOk)("SlurmRuntime with podman", { timeout: 60_000 }, () => {
  const create = () => new SlurmRuntime(options({ engine: "podman" }));
  const fixtures = jobFixtures(create);

  it("runs the job through podman, reporting the image as Docker names it, and leaves no container behind", async () => {
    const rt = create();
    const job = jobSpec(testImage, fixtures, { code: "import os; print(os.getuid())", user: "1000:1000" });
    await rt.start(job);
    const state = await waitForExit(rt, job.name);
    expect(state.exitCode).toBe(0);
    // The same image Docker's store holds (setup-test-podman.sh copied it), under Docker's id.
    const dockerId = execFileSync("docker", ["image", "inspect", "--format={{.Id}}", testImage], {
      encoding: "utf8",
    }).trim();
    expect(state.imageId).toBe(dockerId);
    expect(state.metadata).toMatchObject({ HostConfig: { LogConfig: { Type: "k8s-file" } } });
    expect(await rt.logs(job.name)).toMatch(/^\S+ 1000$/m);
    await rt.remove(job.name);
    const left = execFileSync("podman", ["ps", "--all", "--quiet", `--filter=name=^${job.name}$`], {
      encoding: "utf8",
    });
    expect(left.trim()).toBe("");
  });
});

/** Polls until `path` exists (the job has written it: it runs). */
async function waitForFile(path: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`${path} never appeared`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const node = hostname().split(".")[0]!;
const scontrol = (...args: string[]) => execFileSync("scontrol", args, { encoding: "utf8" });

describe.skipIf(!slurmOk)("SlurmRuntime", { timeout: 60_000 }, () => {
  const create = (extra: Partial<SlurmRuntimeOptions> = {}) => new SlurmRuntime(options(extra));
  const fixtures = jobFixtures(() => create());
  const spec = (overrides: Parameters<typeof jobSpec>[2]) => jobSpec(testImage, fixtures, overrides);

  it("finds by its name a job submitted by an agent that died before recording its Slurm id", async () => {
    const job = spec({ code: "import time; open('started', 'w').close(); time.sleep(120)" });
    await create().start(job);
    await waitForFile(join(job.volumeDir, "started"));
    rmSync(join(shared, "jobs", job.name, "slurm-job-id"));
    const restarted = create();
    expect(await restarted.inspect(job.name)).toMatchObject({ running: true });
    // Starting it again submits nothing new: the running job is found and kept.
    await restarted.start(job);
    await restarted.kill(job.name);
    expect((await waitForExit(restarted, job.name)).exitCode).toBe(137);
  });

  it("a node drained mid-job lets the running job finish; the next job waits in the queue until it returns", async () => {
    const rt = create();
    const running = spec({ code: "import time; open('started', 'w').close(); time.sleep(2)" });
    const queued = spec({ code: "open('ran', 'w').close()" });
    await rt.start(running);
    await waitForFile(join(running.volumeDir, "started"));
    scontrol("update", `nodename=${node}`, "state=drain", "reason=rap-runner test");
    try {
      await rt.start(queued);
      expect((await waitForExit(rt, running.name)).exitCode).toBe(0);
      expect(await rt.inspect(queued.name)).toMatchObject({
        running: true,
        metadata: { State: { Status: "queued" } },
      });
    } finally {
      scontrol("update", `nodename=${node}`, "state=resume");
    }
    expect((await waitForExit(rt, queued.name)).exitCode).toBe(0);
    expect(existsSync(join(queued.volumeDir, "ran"))).toBe(true);
  });

  it("a job cancelled as its batch script starts leaves no container on the node", async () => {
    const rt = create();
    const job = spec({ code: "import time; time.sleep(120)" });
    await rt.start(job);
    // Cancelled as soon as Slurm runs the script: before, during or just after its `docker run`.
    for (;;) {
      const state = (await rt.inspect(job.name))?.metadata.State as { Status?: string } | undefined;
      if (state?.Status !== "queued") break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await rt.kill(job.name);
    await waitForExit(rt, job.name);
    await rt.remove(job.name);
    const left = execFileSync("docker", ["ps", "--all", "--quiet", `--filter=name=^/${job.name}$`], {
      encoding: "utf8",
    });
    expect(left.trim()).toBe("");
  });

  it("50 jobs queued at once on the 2-core node all run to their end", async () => {
    const rt = create();
    const jobs = Array.from({ length: 50 }, (_, n) =>
      spec({ code: `open('ran', 'w').write('${n}')`, cpuCount: 1, memoryLimit: "256m" }),
    );
    await Promise.all(jobs.map((job) => rt.start(job)));
    const ended = await Promise.all(jobs.map((job) => waitForExit(rt, job.name, 240_000)));
    expect(ended.map((state) => state.exitCode)).toEqual(jobs.map(() => 0));
    expect(jobs.map((job) => readFileSync(join(job.volumeDir, "ran"), "utf8"))).toEqual(
      jobs.map((_, n) => `${n}`),
    );
  }, 300_000);

  it("on a cluster without accounting, a job the controller has forgotten reads as gone", async () => {
    const conf = join(state, "no-accounting-slurm.conf");
    const ours = readFileSync("/etc/slurm/slurm.conf", "utf8");
    writeFileSync(
      conf,
      ours
        .replace(/^AccountingStorageType=.*$/m, "AccountingStorageType=accounting_storage/none")
        .replace(/^AccountingStorageHost=.*$/m, ""),
    );
    const rt = create({ slurmConf: conf });
    // A job id no controller knows, recorded for a job whose script recorded nothing.
    const name = fixtures.name();
    const dir = join(shared, "jobs", name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "slurm-job-id"), "999999999");
    expect(await rt.inspect(name)).toBeNull();
    expect(await rt.inspect(name)).toBeNull();
  });

  it("a controller that does not answer is a timeout the agent retries, not a crash", async () => {
    const conf = join(state, "unreachable-slurm.conf");
    const ours = readFileSync("/etc/slurm/slurm.conf", "utf8");
    // Nothing listens on port 9 (discard) on loopback: every command fails to reach a controller.
    writeFileSync(
      conf,
      `${ours.replace(/^SlurmctldHost=.*$/m, "SlurmctldHost=localhost")}\nSlurmctldPort=9\n`,
    );
    const rt = create({ slurmConf: conf, commandTimeoutMs: 3000 });
    const job = spec({ code: "pass" });
    await expect(rt.start(job)).rejects.toBeInstanceOf(RuntimeTimeoutError);
    await expect(rt.stats()).rejects.toThrow(/^slurm (did not answer|timed out after 3s) running squeue/);
  });
});

describe.skipIf(!accountingOk)("SlurmRuntime on a cluster with accounting", { timeout: 120_000 }, () => {
  const create = () => new SlurmRuntime(options());
  const fixtures = jobFixtures(create);

  /** Runs `body` with the controller forgetting ended jobs after 2 s (MinJobAge), then puts slurm.conf back. */
  async function withShortMemory(body: () => Promise<void>): Promise<void> {
    const path = "/etc/slurm/slurm.conf";
    const original = readFileSync(path, "utf8");
    writeFileSync(path, original.replace(/^MinJobAge=.*$/m, "MinJobAge=2"));
    scontrol("reconfigure");
    try {
      await body();
    } finally {
      writeFileSync(path, original);
      scontrol("reconfigure");
    }
  }

  it("reads how a job ended from accounting once the controller has forgotten it", async () => {
    await withShortMemory(async () => {
      const job = spec({ code: "import time; time.sleep(2)" });
      const rt = create();
      await rt.start(job);
      expect((await waitForExit(rt, job.name)).exitCode).toBe(0);
      // The record lost (as if the node had died before writing it), and then the controller forgets the job.
      const dir = join(shared, "jobs", job.name);
      const id = readFileSync(join(dir, "slurm-job-id"), "utf8").trim();
      rmSync(join(dir, "inspect.json"));
      const deadline = Date.now() + 90_000;
      // scontrol fails (Invalid job id) once the controller has forgotten it.
      while (spawnSync("scontrol", ["show", "job", id]).status === 0) {
        if (Date.now() > deadline) throw new Error(`the controller still knows job ${id}`);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      const state = await create().inspect(job.name);
      expect(state).toMatchObject({
        running: false,
        exitCode: null,
        endedBecause:
          `The job's batch script failed on ${node} (Slurm state COMPLETED, exit 0:0) before the job's end was ` +
          "recorded: tell the backend's operators",
        metadata: { Slurm: { JobId: id, JobName: job.name, JobState: "COMPLETED" } },
      });
    });
  });

  function spec(overrides: Parameters<typeof jobSpec>[2]) {
    return jobSpec(testImage, fixtures, overrides);
  }
});

describe.skipIf(!slurmOk || !requires(smallDiskRequirement()))("SlurmRuntime start-up", () => {
  it("refuses shared storage it cannot write, naming the setting", async () => {
    const disk = await mountSmallDisk(1024 * 1024);
    try {
      execFileSync("mount", ["-o", "remount,ro", disk.path]);
      expect(() => new SlurmRuntime({ sharedDir: disk.path, stateDir: state })).toThrow(RuntimeError);
      expect(() => new SlurmRuntime({ sharedDir: disk.path, stateDir: state })).toThrow(
        new RegExp(
          `^SLURM_SHARED_DIR \\(${disk.path}\\) is not writable by the agent: .*read-only file system.*\\. The ` +
            "Slurm runtime needs it on storage shared by the agent and every Slurm node, at the same path",
        ),
      );
    } finally {
      await disk.remove();
    }
  });
});
