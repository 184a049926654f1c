/**
 * The Slurm runtime against the real single-host cluster scripts/start-test-slurm.sh starts (Debian's slurm-wlm
 * 22.05 and munge): its jobs run the locally built test image through this machine's Docker engine, on shared
 * storage that is, here, a temp directory.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe } from "vitest";
import { SlurmRuntime, type SlurmRuntimeOptions } from "../../../src/agent/runtime/slurm.js";
import { requires, slurmRequirement, testImage } from "../../support/requirements.js";
import { describeRuntimeConformance } from "./conformance.js";

const slurmOk = requires(await slurmRequirement());

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
