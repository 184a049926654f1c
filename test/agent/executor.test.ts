import { mkdir, readdir, readFile, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { ArchivedWorkspaceError, JobPreparationError } from "../../src/agent/errors.js";
import type { JobExecutor } from "../../src/agent/executor.js";
import { CONTAINER_VANISHED } from "../../src/agent/status-message.js";
import { jobLogDir, volumeDir, workspaceDir } from "../../src/agent/workspace/paths.js";
import { StatusCode } from "../../src/domain/status.js";
import { AgentStage, type JobDefinition } from "../../src/domain/task.js";
import { outcomeOf } from "../../src/scheduler/outcome.js";
import { deferred } from "./fake-runtime.js";
import { type AgentFixture, agentFixture, writes } from "./support.js";

const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

describe("JobExecutor", () => {
  let f: AgentFixture;
  beforeEach(async () => {
    f = await agentFixture();
  });
  afterEach(() => f.cleanup());

  /** prepare, execute, and wait for the container's program to end: the job is then EXECUTED. */
  const runUntilExited = async (ex: JobExecutor, job: JobDefinition) => {
    await ex.prepare(job);
    await ex.execute(job);
    await f.runtime.finished(`os-job-${job.id}`);
  };
  const runToEnd = async (ex: JobExecutor, job: JobDefinition) => {
    await runUntilExited(ex, job);
    await ex.finalize(job);
  };

  const metadataOf = async (job: { id: string; created_at: number }) =>
    JSON.parse(await f.read(join(jobLogDir(f.layout, job), "metadata.json")));

  test("happy path through every state; a new executor object on the same dirs carries on (restart)", async () => {
    const job = f.job({
      output_spec: {
        "output/dataset.csv": "highly_sensitive",
        "output/summary.csv": "moderately_sensitive",
        "output/summary.txt": "moderately_sensitive",
      },
    });
    const gate = deferred();
    f.runtime.program = () => async (ctx) => {
      await gate.promise;
      return writes({
        "output/dataset.csv": "patient_id,x\n1,2\n",
        "output/summary.csv": "",
        "output/summary.txt": "text",
      })(ctx);
    };
    expect((await f.executor().getStatus(job)).state).toBe(AgentStage.Unknown);

    await f.executor().prepare(job);
    const prepared = await f.executor().getStatus(job);
    expect(prepared.state).toBe(AgentStage.Prepared);
    const volume = volumeDir(f.layout, job.id);
    expect((await readdir(volume)).sort()).toEqual([".opensafely-timestamp", "analysis", "project.yaml"]);
    expect(prepared.timestampNs).toBe(Number(await readFile(join(volume, ".opensafely-timestamp"), "utf8")));

    await f.executor().execute(job, { DATABASE_URL: "mssql://secret@db/x" });
    expect((await f.executor().getStatus(job)).state).toBe(AgentStage.Executing);
    const spec = f.runtime.started[0]!;
    expect(spec).toMatchObject({
      name: `os-job-${job.id}`,
      image: "ghcr.io/opensafely-core/python:v2@sha256:abc",
      args: ["analysis/analyse.py"],
      volumeDir: volume,
      cpuCount: 2,
      memoryLimit: "4G",
      network: { kind: "none" },
      user: "1000:1000",
      labels: { workspace: "testing", action: "analyse" },
    });
    expect(spec.env).toEqual({
      HOME: "/tmp",
      OPENSAFELY_BACKEND: "test",
      DATABASE_URL: "mssql://secret@db/x",
    });
    // A second execute (e.g. after a restart) starts nothing new.
    await f.executor().execute(job);
    expect(f.runtime.started).toHaveLength(1);

    gate.resolve();
    await f.runtime.finished(spec.name);
    expect((await f.executor().getStatus(job)).state).toBe(AgentStage.Executed);

    await f.executor().finalize(job);
    const done = await f.executor().getStatus(job);
    expect(done.state).toBe(AgentStage.Finalized);
    const results = done.results;
    expect(results).toMatchObject({
      outputs: {
        "output/dataset.csv": "highly_sensitive",
        "output/summary.csv": "moderately_sensitive",
        "output/summary.txt": "moderately_sensitive",
      },
      unmatched_patterns: [],
      unmatched_outputs: [],
      status_message: "Completed successfully",
      hint: null,
      job_definition_id: job.id,
      job_definition_rap_id: "12345678abcdefgh",
      task_id: job.task_id,
      created_at: job.created_at,
      user: "alice",
      docker_image_id: "sha256:localimageid",
      expected_image_id: "sha256:abc",
      exit_code: "0",
      oom_killed: false,
      commit: f.repo.commits[0],
      database_name: null,
      action_version: "v1.2.3",
      action_revision: "abc123",
      action_created: "2025-01-01T00:00:00Z",
      base_revision: "unknown",
      base_created: "unknown",
      level4_excluded_files: {},
      cancelled: false,
      error: null,
      job_metrics: {},
    });
    expect(done.timestampNs).toBe(results.timestamp_ns);
    // The secret never reaches the stored container description.
    expect(JSON.stringify(results)).not.toContain("secret@db");
    expect((results.container_metadata as { Config: { Env: string[] } }).Config.Env).toEqual([
      "HOME=xxxx-REDACTED-xxxx",
      "OPENSAFELY_BACKEND=test",
      "DATABASE_URL=xxxx-REDACTED-xxxx",
    ]);

    const high = workspaceDir(f.layout, "high", "testing");
    const medium = workspaceDir(f.layout, "medium", "testing");
    expect(await f.read(join(high, "output/dataset.csv"))).toBe("patient_id,x\n1,2\n");
    await expect(stat(join(medium, "output/dataset.csv"))).rejects.toThrow();
    expect(await f.read(join(medium, "output/summary.txt"))).toBe("text");
    const manifest = JSON.parse(await f.read(join(medium, "metadata/manifest.json")));
    expect(manifest).toMatchObject({ workspace: "testing", repo: null });
    expect(manifest.outputs["output/summary.csv"]).toMatchObject({
      level: "moderately_sensitive",
      job_id: job.id,
      job_request: "12345678abcdefgh",
      action: "analyse",
      user: "alice",
      repo: f.repo.path,
      commit: f.repo.commits[0],
      size: 0,
      content_hash: EMPTY_SHA256,
      excluded: false,
      message: null,
      row_count: 0,
      col_count: 0,
    });
    expect(manifest.outputs["output/summary.txt"]).toMatchObject({ row_count: null, col_count: null });
    expect(manifest.outputs["output/dataset.csv"]).toMatchObject({
      level: "highly_sensitive",
      row_count: null,
    });
    // Size and timestamp are the high-privacy copy's own (mtime in float seconds).
    const copy = await stat(join(high, "output/summary.txt"));
    expect(manifest.outputs["output/summary.txt"]).toMatchObject({ size: 4, timestamp: copy.mtimeMs / 1000 });

    const logs = await f.read(join(jobLogDir(f.layout, job), "logs.txt"));
    expect(logs).toContain("Z wrote output/dataset.csv\n");
    expect(logs).toContain("\n=============JOB SUMMARY=============\n");
    expect(await f.read(join(high, "metadata/analyse.log"))).toBe(logs);
    expect(await f.read(join(medium, "metadata/analyse.log"))).toBe(logs);

    // Finalize again and cleanup: still FINALIZED, container and volume gone.
    await f.executor().finalize(job);
    expect((await f.executor().cleanup(job)).state).toBe(AgentStage.Finalized);
    expect(f.runtime.has(spec.name)).toBe(false);
    await expect(stat(volume)).rejects.toThrow();
    expect(jobLogDir(f.layout, job)).toMatch(/logs\/2025-06\/os-job-/);
  });

  test("prepare copies inputs from earlier jobs; a missing input is refused with the reference's message", async () => {
    const first = f.job({ action: "generate_dataset", output_spec: { "output/*.csv": "highly_sensitive" } });
    f.runtime.program = () => writes({ "output/input.csv": "a\n1\n" });
    const ex = f.executor();
    await runToEnd(ex, first);

    const second = f.job({ input_job_ids: [first.id] });
    await ex.prepare(second);
    expect(await f.read(join(volumeDir(f.layout, second.id), "output/input.csv"))).toBe("a\n1\n");

    await writeFile(join(workspaceDir(f.layout, "high", "testing"), "output/input.csv"), "");
    const { rm } = await import("node:fs/promises");
    await rm(join(workspaceDir(f.layout, "high", "testing"), "output/input.csv"));
    const third = f.job({ input_job_ids: [first.id] });
    const error = await ex.prepare(third).catch((e) => e);
    expect(error).toBeInstanceOf(JobPreparationError);
    expect(error.message).toBe(
      `The file output/input.csv doesn't exist in workspace testing as requested for job ${third.id}`,
    );
  });

  test("an archived workspace is refused with the exact message", async () => {
    await mkdir(f.layout.archiveDir, { recursive: true });
    await writeFile(join(f.layout.archiveDir, "old-ws.tar.xz"), "");
    const error = await f
      .executor()
      .prepare(f.job({ workspace: "old-ws" }))
      .catch((e) => e);
    expect(error).toBeInstanceOf(ArchivedWorkspaceError);
    expect(error.message).toBe(
      "Workspace old-ws has been archived. Contact the OpenSAFELY tech team to resolve",
    );
  });

  test("hostile names are refused before any path is built", async () => {
    for (const workspace of ["../../evil", "a/b", "x\0y", "..", ""]) {
      await expect(f.executor().prepare(f.job({ workspace }))).rejects.toThrow(/Unsafe workspace/);
    }
    await expect(f.executor().getStatus(f.job({ id: "../x" }))).rejects.toThrow(/Unsafe job/);
  });

  test("non-zero exit, unmatched patterns with a hint; a symlink out of the volume is never an output", async () => {
    const job = f.job({
      output_spec: { "output/*.csv": "moderately_sensitive", "output/escape.txt": "moderately_sensitive" },
    });
    f.runtime.program = () => async (ctx) => {
      // "New" means a later mtime than the timestamp file's; coarse filesystem clocks need a moment in between.
      await sleep(50);
      await writes({ "output/other.log": "x" })(ctx);
      await symlink("/etc/passwd", join(ctx.spec.volumeDir, "output/escape.txt"));
      return 0;
    };
    const ex = f.executor();
    await runToEnd(ex, job);
    const results = (await ex.getStatus(job)).results;
    expect(results.outputs).toEqual({});
    expect(results.unmatched_patterns).toEqual(["output/*.csv", "output/escape.txt"]);
    expect(results.unmatched_outputs).toEqual(["output/other.log"]);
    expect(results.status_message).toBe(
      "\n  No outputs found matching patterns:\n - output/*.csv\n   - output/escape.txt",
    );
    expect(results.hint).toBe("\n  Did you mean to match one of these files instead?\n - output/other.log");
    await expect(
      stat(join(workspaceDir(f.layout, "high", "testing"), "output/escape.txt")),
    ).rejects.toThrow();

    const failing = f.job();
    f.runtime.program = () => () => 3;
    await runToEnd(ex, failing);
    expect((await ex.getStatus(failing)).results).toMatchObject({ exit_code: "3", status_message: null });

    // An ending whose exit code is unknown is never taken for a success.
    const unknown = f.job();
    f.runtime.program = () => () => null;
    await runToEnd(ex, unknown);
    expect((await ex.getStatus(unknown)).results).toMatchObject({
      exit_code: "None",
      status_message: "Job errored",
    });
  });

  test("a symlinked directory out of the volume is not entered; a hostile pattern is refused", async () => {
    const job = f.job({ output_spec: { "outdir/*": "highly_sensitive", "**/hostname": "highly_sensitive" } });
    f.runtime.program = () => async (ctx) => {
      await symlink("/etc", join(ctx.spec.volumeDir, "outdir"));
      return 0;
    };
    const ex = f.executor();
    await runToEnd(ex, job);
    const results = (await ex.getStatus(job)).results;
    expect(results.outputs).toEqual({});
    expect(results.unmatched_patterns).toEqual(["outdir/*", "**/hostname"]);

    const hostile = f.job({ output_spec: { "../../etc/passwd": "highly_sensitive" } });
    f.runtime.program = () => () => 0;
    await runUntilExited(ex, hostile);
    await expect(ex.finalize(hostile)).rejects.toThrow(/Unsafe output pattern/);
    expect((await ex.getStatus(hostile)).state).toBe(AgentStage.Executed);
  });

  test("OOM kill reports the limit", async () => {
    const job = f.job({ memory_limit: "6M" });
    f.runtime.program = () => () => new Promise<number>(() => {});
    const ex = f.executor();
    await ex.prepare(job);
    await ex.execute(job);
    f.runtime.oomKill(`os-job-${job.id}`);
    await ex.finalize(job);
    expect((await ex.getStatus(job)).results).toMatchObject({
      exit_code: "137",
      oom_killed: true,
      status_message: "Job ran out of memory (limit was 0.01GB)",
    });
  });

  test("finalize records the container it read the state from: one inspect", async () => {
    const job = f.job();
    const ex = f.executor();
    await runUntilExited(ex, job);
    const inspect = f.runtime.inspect.bind(f.runtime);
    let inspects = 0;
    f.runtime.inspect = (name) => {
      inspects++;
      return inspect(name);
    };
    await ex.finalize(job);
    expect(inspects).toBe(1);
    expect((await ex.getStatus(job)).results).toMatchObject({
      exit_code: "0",
      docker_image_id: "sha256:localimageid",
    });
  });

  test("level 4: excluded file replaced by its message, then a valid re-run removes the message", async () => {
    const job = f.job({ level4_max_csv_rows: 1 });
    f.runtime.program = () => writes({ "output/counts.csv": "a,b\n1,2\n3,4\n" });
    const ex = f.executor();
    await runToEnd(ex, job);
    const medium = workspaceDir(f.layout, "medium", "testing");
    const results = (await ex.getStatus(job)).results;
    expect(results.level4_excluded_files).toEqual({
      "output/counts.csv": "File row count (2) exceeds maximum allowed rows (1)",
    });
    expect(results.status_message).toBe("Completed successfully");
    expect(await f.read(join(medium, "output/counts.csv.txt"))).toContain("contained 2 rows");
    await expect(stat(join(medium, "output/counts.csv"))).rejects.toThrow();
    const logs = await f.read(join(jobLogDir(f.layout, job), "logs.txt"));
    expect(logs).toContain(
      "\n\nInvalid moderately_sensitive outputs:\n  output/counts.csv  - File row count (2) exceeds maximum allowed rows (1)\n",
    );
    const manifest = JSON.parse(await f.read(join(medium, "metadata/manifest.json")));
    expect(manifest.outputs["output/counts.csv"]).toMatchObject({
      excluded: true,
      message: "File row count (2) exceeds maximum allowed rows (1)",
      row_count: 2,
      col_count: 2,
    });

    const rerun = f.job();
    f.runtime.program = () => writes({ "output/counts.csv": "a,b\n1,2\n" });
    await runToEnd(ex, rerun);
    expect((await ex.getStatus(rerun)).results.level4_excluded_files).toEqual({});
    await expect(stat(join(medium, "output/counts.csv.txt"))).rejects.toThrow();
    expect(await f.read(join(medium, "output/counts.csv"))).toBe("a,b\n1,2\n");
    const updated = JSON.parse(await f.read(join(medium, "metadata/manifest.json")));
    // project.yaml at the study commit has `analyse`: the flag is set, explicitly false.
    expect(updated.outputs["output/counts.csv"]).toMatchObject({ excluded: false, job_id: rerun.id });
    expect(updated.outputs["output/counts.csv"].out_of_date_action).toBeUndefined();
  });

  test("cancel a prepared job: FINALIZED, cancelled, no logs; a new task id starts afresh", async () => {
    const job = f.job({ image_sha: null });
    const ex = f.executor();
    await ex.prepare(job);
    expect((await ex.getStatus(job, { cancelled: true })).state).toBe(AgentStage.Prepared);
    await ex.finalize(job, { cancelled: true });
    expect((await ex.cleanup(job)).state).toBe(AgentStage.Finalized);
    const metadata = await metadataOf(job);
    expect(metadata).toMatchObject({
      cancelled: true,
      exit_code: "None",
      status_message: "Job cancelled by system",
      container_metadata: {},
    });
    expect(await readdir(jobLogDir(f.layout, job))).toEqual(["metadata.json"]);

    const again = { ...job, task_id: `${job.id}-002` };
    expect((await ex.getStatus(again)).state).toBe(AgentStage.Unknown);
    await ex.prepare({ ...again, image_sha: "sha256:abc" });
    expect((await ex.getStatus(again)).state).toBe(AgentStage.Prepared);
  });

  test("cancel a running job: terminate → EXECUTED → finalize(cancelled), logs.txt but no workspace log", async () => {
    const job = f.job();
    f.runtime.program = () => () => new Promise<number>(() => {});
    const ex = f.executor();
    await ex.terminate(job); // nothing exists yet: no-op
    expect(await readdir(f.layout.workdir)).not.toContain("high_privacy");
    await ex.prepare(job);
    await ex.execute(job);
    await ex.terminate(job);
    expect((await ex.getStatus(job)).state).toBe(AgentStage.Executed);
    await ex.finalize(job, { cancelled: true });
    await ex.terminate(job);
    expect(f.runtime.killed).toEqual([`os-job-${job.id}`]);
    expect((await ex.cleanup(job)).state).toBe(AgentStage.Finalized);
    expect(await metadataOf(job)).toMatchObject({
      exit_code: "137",
      status_message: "Job cancelled by system",
      cancelled: true,
      outputs: {},
    });
    expect((await readdir(jobLogDir(f.layout, job))).sort()).toEqual(["logs.txt", "metadata.json"]);
    await expect(
      stat(join(workspaceDir(f.layout, "high", "testing"), "metadata/analyse.log")),
    ).rejects.toThrow();
  });

  test("a container removed from outside mid-run fails the job, and is never started again from its volume", async () => {
    const job = f.job({ output_spec: { "output/*.csv": "highly_sensitive" } });
    f.runtime.program = () => async (ctx) => {
      await writes({ "output/half.csv": "1,2\n" })(ctx);
      return new Promise<number>(() => {});
    };
    await f.executor().prepare(job);
    await f.executor().execute(job);
    f.runtime.vanish(`os-job-${job.id}`);
    // After an agent restart too: the runtime, not the executor object, remembers the start.
    const ex = f.executor();
    expect((await ex.getStatus(job)).state).toBe(AgentStage.Executed);
    await ex.execute(job);
    expect(f.runtime.started).toHaveLength(1);
    await ex.finalize(job);
    const results = (await ex.getStatus(job)).results;
    expect(results).toMatchObject({ exit_code: "None", status_message: CONTAINER_VANISHED, outputs: {} });
    expect(outcomeOf(results, false)).toEqual({
      kind: "final",
      code: StatusCode.NonzeroExit,
      message:
        "Job exited with an error: The job's container disappeared before the job's end was recorded (it was " +
        "removed from outside the agent), so the job failed and was not run again",
    });
    expect(await readdir(jobLogDir(f.layout, job))).toEqual(["metadata.json"]);
    // Cleanup forgets the start: a later task of the job starts afresh.
    await ex.cleanup(job);
    expect(await f.runtime.wasStarted(`os-job-${job.id}`)).toBe(false);
  });

  test("finalize with an error: ERROR, persisted; exit None without a container, 0 for a running one", async () => {
    const error = { exception: "Error", message: "boom", traceback: "..." };
    const unknown = f.job();
    const ex = f.executor();
    await ex.finalize(unknown); // never ran, no error: nothing happens
    expect((await ex.getStatus(unknown)).state).toBe(AgentStage.Unknown);
    await ex.finalize(unknown, { error });
    const status = await f.executor().getStatus(unknown);
    expect(status.state).toBe(AgentStage.Error);
    expect(status.results).toMatchObject({ exit_code: "None", status_message: "Job errored", error });

    const running = f.job();
    f.runtime.program = () => () => new Promise<number>(() => {});
    await ex.prepare(running);
    await ex.execute(running);
    await ex.finalize(running, { error });
    expect((await ex.getStatus(running)).results).toMatchObject({ exit_code: "0", status_message: null });
    expect(f.runtime.killed).toEqual([]);
  });

  test("metadata of another task of the job is ignored; empty task ids match anything", async () => {
    const job = f.job();
    const ex = f.executor();
    await ex.finalize(job, { cancelled: true });
    expect((await ex.getStatus(job)).state).toBe(AgentStage.Finalized);
    expect((await ex.getStatus({ ...job, task_id: "other" })).state).toBe(AgentStage.Unknown);
    expect((await ex.getStatus({ ...job, task_id: "" })).state).toBe(AgentStage.Finalized);
  });

  test("two metadata files for one job (two month dirs) is an error", async () => {
    const job = f.job();
    const ex = f.executor();
    await ex.finalize(job, { cancelled: true });
    const other = join(f.layout.jobLogDir, "1999-01", `os-job-${job.id}`);
    await mkdir(other, { recursive: true });
    await writeFile(join(other, "metadata.json"), "{}");
    await expect(ex.getStatus(job)).rejects.toThrow("Expected at most one path");
  });
});
