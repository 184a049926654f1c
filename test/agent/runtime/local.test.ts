import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LocalRuntime } from "../../../src/agent/runtime/local.js";
import { ImageUnavailableError } from "../../../src/agent/runtime/types.js";
import { describeRuntimeConformance, jobFixtures, jobSpec, waitForExit } from "./conformance.js";

const stateDir = mkdtempSync(join(tmpdir(), "rap-local-runtime-"));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

const image = "ghcr.io/opensafely-core/python:v2";
const create = () => new LocalRuntime({ stateDir });

/** What someone removing a container's state by hand does: the job's processes killed, its directory gone. */
async function removeFromOutside(name: string): Promise<void> {
  const { pid } = JSON.parse(readFileSync(join(stateDir, name, "pid.json"), "utf8")) as { pid: number };
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // Already ended.
  }
  // The runtime's watcher records the exit in it, its last write there (several seconds after the kill on a loaded
  // machine, when removing at once failed with ENOTEMPTY): the directory goes once that is written.
  const deadline = Date.now() + 30_000;
  while (!existsSync(join(stateDir, name, "exit.json")) && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 20));
  rmSync(join(stateDir, name), { recursive: true, force: true, maxRetries: 50, retryDelay: 20 });
}

describe("LocalRuntime conformance", () => {
  describeRuntimeConformance(() => ({
    create: (options) => new LocalRuntime({ stateDir, ...options }),
    removeFromOutside,
    image,
  }));
});

describe("LocalRuntime", () => {
  const fixtures = jobFixtures(create);

  it("refuses an image with no command mapped, naming the image and what to map", async () => {
    const error = await create()
      .ensureImage("ghcr.io/opensafely-core/ehrql:v1", "sha256:abc")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageUnavailableError);
    expect((error as Error).message).toBe(
      'Docker image ghcr.io/opensafely-core/ehrql:v1 cannot run with the local executor: no host command is configured for "ehrql" (map "ehrql" to a command, as "python" maps to "python3")',
    );
    await expect(
      create().start(jobSpec("ghcr.io/opensafely-core/ehrql:v1", fixtures, { code: "" })),
    ).rejects.toThrow(ImageUnavailableError);
  });

  it("maps images through the commands option, the job's args after the command", async () => {
    const rt = new LocalRuntime({ stateDir, commands: { ehrql: "/bin/sh" } });
    const job = jobSpec("ghcr.io/opensafely-core/ehrql:v1", fixtures, {
      code: "echo mapped > out.txt; exit 4",
    });
    await rt.start(job);
    expect((await waitForExit(rt, job.name)).exitCode).toBe(4);
  });

  it("records a command that cannot be started as exit code 127, with the reason in the logs", async () => {
    const rt = new LocalRuntime({ stateDir, commands: { python: "/nonexistent/python3" } });
    const job = jobSpec(image, fixtures, { code: "pass" });
    await rt.start(job);
    expect((await waitForExit(rt, job.name)).exitCode).toBe(127);
    expect(await rt.logs(job.name)).toMatch(
      /Z cannot run \/nonexistent\/python3: spawn \/nonexistent\/python3 ENOENT\n$/,
    );
  });

  it("gives the job only its own environment, PATH and a private HOME", async () => {
    process.env.RAP_AGENT_ONLY_SECRET = "agent secret";
    try {
      const rt = create();
      const job = jobSpec(image, fixtures, {
        env: { JOB_VAR: "job value" },
        code: "import os, json; open('env.json', 'w').write(json.dumps(dict(os.environ)))",
      });
      await rt.start(job);
      expect((await waitForExit(rt, job.name)).exitCode).toBe(0);
      const env = JSON.parse(readFileSync(join(job.volumeDir, "env.json"), "utf8")) as Record<string, string>;
      expect(env.JOB_VAR).toBe("job value");
      expect(env.RAP_AGENT_ONLY_SECRET).toBeUndefined();
      expect(env.HOME).toBe(join(stateDir, job.name, "home"));
      expect(Object.keys(env).filter((k) => !["JOB_VAR", "PATH", "HOME", "LC_CTYPE"].includes(k))).toEqual(
        [],
      );
    } finally {
      delete process.env.RAP_AGENT_ONLY_SECRET;
    }
  });

  it("finishes an interrupted start: state without a process reads as absent and start runs the job", async () => {
    const rt = create();
    const job = jobSpec(image, fixtures, { code: "open('ran.txt', 'w').write('yes')" });
    // What an agent that died between recording the container and starting its process leaves behind.
    mkdirSync(join(stateDir, job.name));
    writeFileSync(
      join(stateDir, job.name, "spec.json"),
      JSON.stringify({ name: job.name, image, command: "false" }),
    );
    expect(await rt.inspect(job.name)).toBeNull();
    await rt.start(job);
    expect((await waitForExit(rt, job.name)).exitCode).toBe(0);
    expect(readFileSync(join(job.volumeDir, "ran.txt"), "utf8")).toBe("yes");
  });

  it("reads a job whose process vanished without an exit record as ended with an unknown exit code", async () => {
    const rt = create();
    const job = jobSpec(image, fixtures, {
      code: "import time; open('started', 'w').close(); time.sleep(120)",
    });
    await rt.start(job);
    while (!existsSync(join(job.volumeDir, "started"))) await new Promise((r) => setTimeout(r, 50));
    // The watcher dies first (a reboot, an OOM kill of the wrong process), then the job.
    const pids = JSON.parse(readFileSync(join(stateDir, job.name, "pid.json"), "utf8")) as {
      pid: number;
      wrapperPid: number;
    };
    process.kill(pids.wrapperPid, "SIGKILL");
    process.kill(-pids.pid, "SIGKILL");
    const state = await waitForExit(rt, job.name);
    expect(state).toMatchObject({ running: false, exitCode: null, finishedAtNs: null });
  });

  it("keeps a job's log files on disk within twice JOB_LOG_MAX_BYTES, however much it prints without a newline", async () => {
    const rt = new LocalRuntime({ stateDir, logMaxBytes: 65_536 });
    const job = jobSpec(image, fixtures, {
      code: "import sys\nfor _ in range(64): sys.stdout.write('y' * 65536)",
    });
    await rt.start(job);
    expect((await waitForExit(rt, job.name)).exitCode).toBe(0);
    const dir = join(stateDir, job.name);
    const onDisk = ["log.txt", "log.1.txt"].reduce((sum, file) => sum + statSync(join(dir, file)).size, 0);
    expect(onDisk).toBeLessThanOrEqual(2 * 65_536);
    // Every byte printed is either kept or counted.
    const dropped = (JSON.parse(readFileSync(join(dir, "log-dropped.json"), "utf8")) as { bytes: number })
      .bytes;
    expect(dropped + onDisk).toBeGreaterThan(64 * 65_536);
  });
});
