/**
 * The agent's storage filling up while a job's outputs are saved (issue 14, item 4), at the executor: a real 16 MB
 * tmpfs holds the workspaces and the job volumes. The whole-system view is test/e2e/full-disk.test.ts.
 */
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import type { AgentLogger } from "../../src/agent/log.js";
import { OUTPUTS_DISK_FULL_MESSAGE } from "../../src/agent/workspace/outputs.js";
import { jobLogDir, volumeDir } from "../../src/agent/workspace/paths.js";
import { AgentStage } from "../../src/domain/task.js";
import { requires } from "../support/requirements.js";
import { mountSmallDisk, type SmallDisk, smallDiskRequirement } from "../support/small-disk.js";
import { type AgentFixture, agentFixture } from "./support.js";

const ok = requires(smallDiskRequirement());

describe.skipIf(!ok)("a full disk while saving outputs", () => {
  let disk: SmallDisk;
  let f: AgentFixture;
  beforeEach(async () => {
    disk = await mountSmallDisk(16 * 1024 * 1024);
    f = await agentFixture({
      HIGH_PRIVACY_STORAGE_BASE: join(disk.path, "high"),
      MEDIUM_PRIVACY_STORAGE_BASE: join(disk.path, "medium"),
    });
  });
  afterEach(async () => {
    await f.cleanup();
    await disk.remove();
  });

  test("the job is finalized with the disk-full message and no exit code, its volume freed, the operator told what is full", async () => {
    const errors: Array<{ fields: Record<string, unknown>; message: string }> = [];
    const log: AgentLogger = {
      debug() {},
      info() {},
      warn() {},
      error: (fields, message) => errors.push({ fields, message }),
    };
    const job = f.job({ output_spec: { "output/*.bin": "highly_sensitive" } });
    f.runtime.program =
      () =>
      async ({ spec }: { spec: { volumeDir: string } }) => {
        await mkdir(join(spec.volumeDir, "output"), { recursive: true });
        await writeFile(join(spec.volumeDir, "output", "big.bin"), Buffer.alloc(10 * 1024 * 1024, 1));
        return 0;
      };
    const ex = f.executor(log);
    await ex.prepare(job);
    await ex.execute(job);
    await f.runtime.finished(`os-job-${job.id}`);
    await ex.finalize(job);

    const status = await ex.getStatus(job);
    expect(status.state).toBe(AgentStage.Finalized);
    expect(status.results).toMatchObject({
      outputs: {},
      exit_code: "None",
      status_message: OUTPUTS_DISK_FULL_MESSAGE,
      error: null,
    });
    expect(existsSync(volumeDir(f.layout, job.id))).toBe(false);
    expect(await f.read(join(jobLogDir(f.layout, job), "logs.txt"))).toContain(
      `status_message: ${OUTPUTS_DISK_FULL_MESSAGE}\n`,
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toBe(
      "disk full while saving a job's outputs: the job fails and its volume is deleted",
    );
    expect(errors[0]!.fields).toMatchObject({ job: job.id, volume_deleted: true });
    expect(String(errors[0]!.fields.path).startsWith(disk.path)).toBe(true);
    expect(errors[0]!.fields.free_bytes).toEqual(expect.any(Number));
  });
});
