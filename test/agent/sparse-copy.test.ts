/**
 * Sparse files stay sparse when the agent copies them (issue 14, item 8): a job's output with large holes takes its
 * data's room in the workspaces, not its apparent size. Real files on the test machine's filesystem: the copies'
 * allocated blocks (`stat.blocks`) are compared with the source's.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, open, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { copyFileAtomic } from "../../src/agent/workspace/files.js";
import { OUTPUTS_TOO_LARGE_MESSAGE } from "../../src/agent/workspace/outputs.js";
import { jobLogDir, manifestPath, workspaceDir } from "../../src/agent/workspace/paths.js";
import { createTempDir, removeDir } from "../support/git-fixtures.js";
import { type AgentFixture, agentFixture } from "./support.js";

const MiB = 1024 * 1024;

/** A file of `size` bytes that is one hole but for `data` written at each offset. */
async function sparseFile(path: string, size: number, data: Record<number, string>): Promise<void> {
  const file = await open(path, "w");
  try {
    await file.truncate(size);
    for (const [offset, text] of Object.entries(data)) await file.write(text, Number(offset));
  } finally {
    await file.close();
  }
}

const sha256 = async (path: string) =>
  createHash("sha256")
    .update(await readFile(path))
    .digest("hex");

describe("sparse copies", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await createTempDir("rap-sparse-");
  });
  afterEach(() => removeDir(dir));

  test("a copy keeps the holes, the contents and the hash; partial and trailing blocks are right", async () => {
    const source = join(dir, "source.bin");
    // Data at the start, straddling a block edge, in the middle of a chunk, and in the last partial block.
    await sparseFile(source, 64 * MiB + 1000, {
      0: "head",
      4090: "across",
      [20 * MiB + 7]: "mid",
      [64 * MiB + 990]: "tail",
    });
    const copy = await copyFileAtomic(source, join(dir, "out", "copy.bin"));

    const [before, after] = [await stat(source), await stat(join(dir, "out", "copy.bin"))];
    expect(after.size).toBe(before.size);
    expect(after.blocks).toBeLessThanOrEqual(before.blocks + 8);
    expect(copy.sha256).toBe(await sha256(source));
    expect(await sha256(join(dir, "out", "copy.bin"))).toBe(copy.sha256);
  });

  test("an ordinary file is copied byte for byte, with its permissions", async () => {
    const source = join(dir, "plain.txt");
    await writeFile(source, "x".repeat(10_000), { mode: 0o750 });
    const copy = await copyFileAtomic(source, join(dir, "plain-copy.txt"));
    expect(await readFile(join(dir, "plain-copy.txt"), "utf8")).toBe("x".repeat(10_000));
    expect(copy.mode & 0o777).toBe(0o750);
    expect(copy.size).toBe(10_000);
  });
});

describe("a job's sparse outputs", () => {
  let f: AgentFixture;
  beforeEach(async () => {
    f = await agentFixture();
  });
  afterEach(() => f.cleanup());

  test("two 256 MiB sparse outputs take no more room in the workspaces than in the volume", async () => {
    const job = f.job({ output_spec: { "output/*.bin": "moderately_sensitive" } });
    f.runtime.program =
      () =>
      async ({ spec }: { spec: { volumeDir: string } }) => {
        await mkdir(join(spec.volumeDir, "output"), { recursive: true });
        for (const name of ["a", "b"]) {
          await sparseFile(join(spec.volumeDir, "output", `${name}.bin`), 256 * MiB, { [128 * MiB]: name });
        }
        return 0;
      };
    const ex = f.executor();
    await ex.prepare(job);
    await ex.execute(job);
    await f.runtime.finished(`os-job-${job.id}`);
    await ex.finalize(job);

    const high = workspaceDir(f.layout, "high", job.workspace);
    for (const name of ["a", "b"]) {
      const copy = await stat(join(high, "output", `${name}.bin`));
      expect(copy.size).toBe(256 * MiB);
      expect(copy.blocks * 512).toBeLessThan(MiB);
    }
    const manifest = JSON.parse(await f.read(manifestPath(f.layout, job.workspace)));
    expect(manifest.outputs["output/a.bin"]).toMatchObject({ size: 256 * MiB, excluded: true });
  });
});

describe("MAX_JOB_OUTPUT_BYTES", () => {
  let f: AgentFixture;
  beforeEach(async () => {
    f = await agentFixture({ MAX_JOB_OUTPUT_BYTES: String(100 * MiB) });
  });
  afterEach(() => f.cleanup());

  test("outputs over the limit by apparent size fail the job, nothing saved, each file named in logs.txt", async () => {
    const job = f.job({ output_spec: { "output/*": "highly_sensitive" } });
    f.runtime.program =
      () =>
      async ({ spec }: { spec: { volumeDir: string } }) => {
        await mkdir(join(spec.volumeDir, "output"), { recursive: true });
        await sparseFile(join(spec.volumeDir, "output", "huge.bin"), 200 * MiB, { 0: "x" });
        await writeFile(join(spec.volumeDir, "output", "small.csv"), "a\n");
        return 0;
      };
    const ex = f.executor();
    await ex.prepare(job);
    await ex.execute(job);
    await f.runtime.finished(`os-job-${job.id}`);
    await ex.finalize(job);

    const status = await ex.getStatus(job);
    expect(status.results).toMatchObject({
      outputs: {},
      exit_code: "None",
      status_message: OUTPUTS_TOO_LARGE_MESSAGE,
    });
    expect(existsSync(join(workspaceDir(f.layout, "high", job.workspace), "output"))).toBe(false);
    const logs = await f.read(join(jobLogDir(f.layout, job), "logs.txt"));
    expect(logs).toContain(
      "\n\nOutputs not saved:\n" +
        "  output/huge.bin   - 209715200 bytes: the job's outputs total 209715202 bytes, over this backend's limit of 104857600 (MAX_JOB_OUTPUT_BYTES)\n" +
        "  output/small.csv  - 2 bytes: the job's outputs total 209715202 bytes, over this backend's limit of 104857600 (MAX_JOB_OUTPUT_BYTES)        \n",
    );
  });
});
