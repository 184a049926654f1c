/**
 * Output file names a researcher's job may create that the platform must survive (issue 14, item 3): a name that
 * is not valid UTF-8, a backslash, a name of 235 bytes or more, a newline or an ANSI escape. Each is copied or
 * refused on its own; the job's other outputs are always kept and the job never ends in an agent error.
 */
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { temporaryPath } from "../../src/agent/workspace/files.js";
import { jobLogDir, manifestPath, workspaceDir } from "../../src/agent/workspace/paths.js";
import { AgentStage, type JobDefinition } from "../../src/domain/task.js";
import { type AgentFixture, agentFixture } from "./support.js";

/** A program writing files whose names are raw bytes (Node's fs takes Buffer paths), then exiting 0. */
function writesRaw(files: Array<[Buffer | string, string]>) {
  return async ({ spec }: { spec: { volumeDir: string } }) => {
    for (const [name, contents] of files) {
      const raw = Buffer.concat([Buffer.from(`${spec.volumeDir}/`), Buffer.from(name)]);
      const dir = raw.subarray(0, raw.lastIndexOf("/"));
      await mkdir(dir, { recursive: true });
      await writeFile(raw, contents);
    }
    return 0;
  };
}

describe("hostile output file names", () => {
  let f: AgentFixture;
  beforeEach(async () => {
    f = await agentFixture();
  });
  afterEach(() => f.cleanup());

  const finalizeRun = async (job: JobDefinition) => {
    const ex = f.executor();
    await ex.prepare(job);
    await ex.execute(job);
    await f.runtime.finished(`os-job-${job.id}`);
    await ex.finalize(job);
    return ex.getStatus(job);
  };
  const logsOf = (job: JobDefinition) => f.read(join(jobLogDir(f.layout, job), "logs.txt"));

  test("a name that is not valid UTF-8 is refused by name in logs.txt; the other outputs are kept", async () => {
    const job = f.job({ output_spec: { "output/*.csv": "moderately_sensitive" } });
    f.runtime.program = () =>
      writesRaw([
        ["output/good.csv", "a,b\n1,2\n"],
        [Buffer.from([...Buffer.from("output/bad"), 0xff, ...Buffer.from(".csv")]), "x\n"],
        [Buffer.from([...Buffer.from("tmp/"), 0xfe, 0x00 + 0x41]), "scratch"],
      ]);
    const status = await finalizeRun(job);

    expect(status.state).toBe(AgentStage.Finalized);
    expect(status.results.error).toBeNull();
    expect(status.results.outputs).toEqual({ "output/good.csv": "moderately_sensitive" });
    expect(status.results.status_message).toBe("Completed successfully");
    const high = workspaceDir(f.layout, "high", job.workspace);
    expect(await f.read(join(high, "output/good.csv"))).toBe("a,b\n1,2\n");
    const logs = await logsOf(job);
    expect(logs).toContain("\n\nOutputs not saved:\n  output/bad\\xff.csv  - its name is not valid UTF-8\n");
    // Only names an output pattern matched are mentioned.
    expect(logs).not.toContain("tmp/");
    const manifest = JSON.parse(await f.read(manifestPath(f.layout, job.workspace)));
    expect(Object.keys(manifest.outputs)).toEqual(["output/good.csv"]);
  });

  test("a name with a backslash is refused by name; a pattern matching only refused files is unmatched", async () => {
    const job = f.job({
      output_spec: { "output/*.csv": "highly_sensitive", "other/*.txt": "highly_sensitive" },
    });
    f.runtime.program = () =>
      writesRaw([
        ["output/good.csv", "1\n"],
        ["output/a\\..\\b.csv", "2\n"],
        ["other/c\\d.txt", "3\n"],
      ]);
    const status = await finalizeRun(job);

    expect(status.state).toBe(AgentStage.Finalized);
    expect(status.results.outputs).toEqual({ "output/good.csv": "highly_sensitive" });
    expect(status.results.unmatched_patterns).toEqual(["other/*.txt"]);
    const logs = await logsOf(job);
    expect(logs).toContain(
      "\n\nOutputs not saved:\n" +
        "  other/c\\\\d.txt       - its name contains a backslash\n" +
        "  output/a\\\\..\\\\b.csv  - its name contains a backslash\n",
    );
    // A refused file was matched: it is not offered as a file the patterns missed.
    expect(status.results.unmatched_outputs).toEqual([]);
  });

  test("names of 235 to 255 bytes are copied, to both workspaces and into the manifest", async () => {
    const long = `output/${"n".repeat(251)}.csv`; // a 255-byte file name
    const medium = `output/${"m".repeat(231)}.csv`; // 235 bytes
    const job = f.job({ output_spec: { "output/*.csv": "moderately_sensitive" } });
    f.runtime.program = () =>
      writesRaw([
        [long, "a\n1\n"],
        [medium, "a\n2\n"],
      ]);
    const status = await finalizeRun(job);

    expect(status.state).toBe(AgentStage.Finalized);
    expect(Object.keys(status.results.outputs as object).sort()).toEqual([long, medium].sort());
    for (const privacy of ["high", "medium"] as const) {
      const dir = workspaceDir(f.layout, privacy, job.workspace);
      expect(await f.read(join(dir, long))).toBe("a\n1\n");
      expect(await f.read(join(dir, medium))).toBe("a\n2\n");
      expect((await readdir(join(dir, "output"))).filter((name) => name.endsWith(".tmp"))).toEqual([]);
    }
  });

  test("a level 4 file too long a name for its `.txt` message is still excluded, and the job finalizes", async () => {
    const long = `output/${"n".repeat(251)}.bin`;
    const job = f.job({ output_spec: { "output/*": "moderately_sensitive" } });
    f.runtime.program = () => writesRaw([[long, "binary"]]);
    const status = await finalizeRun(job);

    expect(status.state).toBe(AgentStage.Finalized);
    expect(status.results.level4_excluded_files).toEqual({
      [long]: "File type of .bin is not valid level 4 file",
    });
    expect(existsSync(join(workspaceDir(f.layout, "medium", job.workspace), long))).toBe(false);
  });

  test("a newline or ANSI escape in a name cannot forge lines in logs.txt", async () => {
    const forged = "output/x\n=============JOB SUMMARY=============\nexit_code: 0\x1b[2K.csv";
    const job = f.job({
      output_spec: { "output/*.csv": "highly_sensitive", "missing/*": "highly_sensitive" },
    });
    f.runtime.program = () => writesRaw([[forged, "1\n"]]);
    const status = await finalizeRun(job);

    // Such a name is a valid file name on Linux: it is saved, and only ever shown escaped.
    expect(status.results.outputs).toEqual({ [forged]: "highly_sensitive" });
    const logs = await logsOf(job);
    const lines = logs.split("\n");
    expect(lines.filter((line) => line === "=============JOB SUMMARY=============")).toHaveLength(1);
    expect(lines.filter((line) => line.startsWith("exit_code:"))).toEqual(["exit_code: 0"]);
    expect(logs).not.toContain("\x1b");
    expect(logs).toContain(
      "  output/x\\n=============JOB SUMMARY=============\\nexit_code: 0\\x1b[2K.csv  - ",
    );
  });

  test("an output whose place in the workspace is taken by a directory is refused by name; the others are kept", async () => {
    const job = f.job({ output_spec: { "output/*.csv": "highly_sensitive" } });
    f.runtime.program = () =>
      writesRaw([
        ["output/a.csv", "1\n"],
        ["output/b.csv", "2\n"],
      ]);
    const high = workspaceDir(f.layout, "high", job.workspace);
    // An earlier job's output output/a.csv/part.csv made output/a.csv a directory.
    await mkdir(join(high, "output", "a.csv"), { recursive: true });
    await writeFile(join(high, "output", "a.csv", "part.csv"), "old\n");
    const status = await finalizeRun(job);

    expect(status.state).toBe(AgentStage.Finalized);
    expect(status.results.outputs).toEqual({ "output/b.csv": "highly_sensitive" });
    expect(await f.read(join(high, "output", "a.csv", "part.csv"))).toBe("old\n");
    expect(await logsOf(job)).toContain(
      "\n\nOutputs not saved:\n  output/a.csv  - a directory or file of the same name is in the way in the workspace\n",
    );
  });

  test("a temporary file left by a killed copy does not survive the next finalize", async () => {
    const job = f.job({ output_spec: { "output/a.csv": "highly_sensitive" } });
    f.runtime.program = () => writesRaw([["output/a.csv", "new\n"]]);
    const dest = join(workspaceDir(f.layout, "high", job.workspace), "output/a.csv");
    await mkdir(join(dest, ".."), { recursive: true });
    // Where a copy of this file that was killed half-way leaves its partial contents.
    await writeFile(temporaryPath(dest), "half a cop");
    await finalizeRun(job);

    expect(await readFile(dest, "utf8")).toBe("new\n");
    expect(await readdir(join(dest, ".."))).toEqual(["a.csv"]);
  });
});
