import { stat } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { type AgentParts, createAgent, runAgentOnce } from "../../src/agent/index.js";
import type { AgentLogger } from "../../src/agent/log.js";
import { RuntimeDiskSpaceError, RuntimeTimeoutError } from "../../src/agent/runtime/types.js";
import { volumeDir } from "../../src/agent/workspace/paths.js";
import type { AgentTask, JobDefinition } from "../../src/domain/task.js";
import { runJobTask } from "../support/job-definitions.js";
import { FakeController } from "./fake-controller.js";
import { deferred } from "./fake-runtime.js";
import { type AgentFixture, agentFixture, writes } from "./support.js";

function recordingLog(): AgentLogger & {
  lines: Array<{ level: string; msg: string; fields: Record<string, unknown> }>;
} {
  const lines: Array<{ level: string; msg: string; fields: Record<string, unknown> }> = [];
  const at = (level: string) => (fields: Record<string, unknown>, msg: string) =>
    lines.push({ level, msg, fields });
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

function runTask(job: JobDefinition): AgentTask {
  return runJobTask(job, { attributes: { user: "alice", project: "p", orgs: "o" } });
}

function cancelTask(job: JobDefinition): AgentTask {
  const task_id = `${job.task_id}-cancel`;
  return {
    ...runTask({ ...job, task_id, image_sha: null }),
    id: task_id,
    type: "canceljob",
  };
}

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(5);
}

describe("agent loop (fake runtime; a recording test double of the controller's Task API)", () => {
  let controller: FakeController;
  let f: AgentFixture;
  let agent: AgentParts;
  let log: ReturnType<typeof recordingLog>;

  async function setUp(env: Record<string, string> = {}) {
    controller = await new FakeController().start();
    f = await agentFixture({
      CONTROLLER_TASK_API_ENDPOINT: controller.url,
      CONTROLLER_TASK_API_TOKEN: "test-token",
      JOB_LOOP_INTERVAL: "0",
      ...env,
    });
    log = recordingLog();
    agent = createAgent(f.config, f.runtime, { log, retryBaseMs: 0 });
  }
  const pass = () => runAgentOnce(agent);

  beforeEach(() => setUp());
  afterEach(async () => {
    await controller.stop();
    await f.cleanup();
  });

  test("happy path: preparing, prepared | executing (repeated) | finalizing, finalized (complete)", async () => {
    const job = f.job();
    const gate = deferred();
    f.runtime.program = () => async (ctx) => {
      await gate.promise;
      return writes({ "output/counts.csv": "a,b\n1,2\n" })(ctx);
    };
    controller.tasks = [runTask(job)];
    await pass();
    expect(controller.stagesOf(job.task_id)).toEqual(["preparing", "prepared"]);
    await pass();
    await pass();
    expect(controller.stagesOf(job.task_id)).toEqual(["preparing", "prepared", "executing", "executing"]);
    gate.resolve();
    await f.runtime.finished(`os-job-${job.id}`);
    await pass();
    const updates = controller.updatesOf(job.task_id);
    expect(updates.map((u) => [u.stage, u.complete])).toEqual([
      ["preparing", false],
      ["prepared", false],
      ["executing", false],
      ["executing", false],
      ["finalizing", false],
      ["finalized", true],
    ]);
    const final = updates.at(-1)!;
    expect(final.results).toMatchObject({
      status_message: "Completed successfully",
      exit_code: "0",
      has_unmatched_outputs: false,
      has_unmatched_patterns: false,
      has_level4_excluded_files: false,
      error: null,
    });
    expect(final.results).not.toHaveProperty("outputs");
    expect(final.results).not.toHaveProperty("unmatched_patterns");
    expect(final.timestamp_ns).toBe(final.results.timestamp_ns);
    expect(updates[2]!.results).toEqual({});
    expect(controller.tasks).toEqual([]);
    await expect(stat(volumeDir(f.layout, job.id))).rejects.toThrow();
    expect(log.lines.filter((l) => l.msg.startsWith("State change")).map((l) => l.msg)).toEqual([
      `State change for job ${job.id}: null -> preparing`,
      `State change for job ${job.id}: preparing -> prepared`,
      `State change for job ${job.id}: prepared -> executing`,
      `State change for job ${job.id}: executing -> finalizing`,
      `State change for job ${job.id}: finalizing -> finalized`,
    ]);
    expect(log.lines.find((l) => l.msg.startsWith("State change"))!.fields).toMatchObject({
      job: job.id,
      action: "analyse",
      workspace: "testing",
    });
    // Another pass with nothing active does nothing.
    await pass();
    expect(controller.updates).toHaveLength(6);
  });

  test("a restarted agent (new objects, same disk and runtime) carries a running job on to the end", async () => {
    const job = f.job();
    const gate = deferred();
    f.runtime.program = () => async (ctx) => {
      await gate.promise;
      return writes({ "output/counts.csv": "a\n1\n" })(ctx);
    };
    controller.tasks = [runTask(job)];
    await pass();
    await pass();
    expect(controller.stagesOf(job.task_id).at(-1)).toBe("executing");
    agent = createAgent(f.config, f.runtime, { log, retryBaseMs: 0 });
    await pass();
    gate.resolve();
    await f.runtime.finished(`os-job-${job.id}`);
    agent = createAgent(f.config, f.runtime, { log, retryBaseMs: 0 });
    await pass();
    expect(controller.stagesOf(job.task_id)).toEqual([
      "preparing",
      "prepared",
      "executing",
      "executing",
      "finalizing",
      "finalized",
    ]);
    expect(f.runtime.started).toHaveLength(1);
  });

  test("spans: one AGENT_LOOP per poll, a LOOP_TASK per task under it, with no file names", async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    agent = createAgent(f.config, f.runtime, {
      log,
      retryBaseMs: 0,
      tracer: provider.getTracer("agent_loop"),
    });
    const job = f.job({ output_spec: { "output/secret_name.csv": "highly_sensitive" } });
    f.runtime.program = () => () => 0;
    controller.tasks = [runTask(job)];
    await pass();
    await pass();
    await f.runtime.finished(`os-job-${job.id}`);
    await pass();
    const spans = exporter.getFinishedSpans();
    const loops = spans.filter((s) => s.name === "AGENT_LOOP");
    const tasks = spans.filter((s) => s.name === "LOOP_TASK");
    expect(loops).toHaveLength(3);
    expect(tasks).toHaveLength(3);
    expect(loops[0]!.attributes).toMatchObject({ backend: "test", handled_tasks: 1, errored_tasks: 0 });
    expect(tasks[0]!.parentSpanContext?.spanId).toBe(loops[0]!.spanContext().spanId);
    expect(tasks[0]!.attributes).toMatchObject({
      task: job.task_id,
      task_type: "RUNJOB",
      job: job.id,
      workspace: "testing",
      action: "analyse",
      user: "alice",
      final_job_status: "prepared",
      complete: false,
    });
    expect(tasks[2]!.attributes).toMatchObject({
      final_job_status: "finalized",
      complete: true,
      exit_code: "0",
      action_version: "v1.2.3",
      cancelled: false,
    });
    expect(JSON.stringify(spans.map((s) => s.attributes))).not.toContain("secret_name");
    await provider.shutdown();
  });

  async function runToEnd(job: JobDefinition) {
    controller.tasks = [runTask(job)];
    await pass();
    await pass();
    await f.runtime.finished(`os-job-${job.id}`);
    await pass();
    return controller.updatesOf(job.task_id).at(-1)!;
  }

  test("unmatched patterns: the message and hint are blanked before they leave the backend", async () => {
    f.runtime.program = () => writes({ "output/other.csv": "x" });
    const final = await runToEnd(f.job({ output_spec: { "output/secret_name.csv": "highly_sensitive" } }));
    expect(final).toMatchObject({ stage: "finalized", complete: true });
    expect(final.results).toMatchObject({ status_message: "", hint: "", has_unmatched_patterns: true });
    expect(JSON.stringify(final.results)).not.toContain("secret_name");
  });

  test("non-zero exit is a finalized job with its exit code", async () => {
    f.runtime.program = () => writes({ "output/counts.csv": "a\n" }, 3);
    const final = await runToEnd(f.job());
    expect(final).toMatchObject({ stage: "finalized", complete: true });
    expect(final.results).toMatchObject({ exit_code: "3", status_message: null });
  });

  test("cancel while executing: executing, executed, finalized (cancelled); container and volume gone", async () => {
    const job = f.job();
    f.runtime.program = () => () => new Promise<number>(() => {});
    controller.tasks = [runTask(job)];
    await pass();
    await pass();
    expect(controller.stagesOf(job.task_id).at(-1)).toBe("executing");
    const cancel = cancelTask(job);
    controller.tasks = [cancel];
    await pass();
    expect(controller.updatesOf(cancel.id).map((u) => [u.stage, u.complete])).toEqual([
      ["executing", false],
      ["executed", false],
      ["finalized", true],
    ]);
    expect(controller.updatesOf(cancel.id).at(-1)!.results).toMatchObject({
      cancelled: true,
      exit_code: "137",
      status_message: "Job cancelled by system",
    });
    expect(f.runtime.has(`os-job-${job.id}`)).toBe(false);
    await expect(stat(volumeDir(f.layout, job.id))).rejects.toThrow();
  });

  test("an archived workspace is reported at once as an error, with the exact message", async () => {
    const { mkdir, writeFile } = await import("node:fs/promises");
    await mkdir(f.layout.archiveDir, { recursive: true });
    await writeFile(`${f.layout.archiveDir}/old.tar.gz`, "");
    const job = f.job({ workspace: "old" });
    controller.tasks = [runTask(job)];
    await pass();
    const updates = controller.updatesOf(job.task_id);
    expect(updates.map((u) => [u.stage, u.complete])).toEqual([
      ["preparing", false],
      ["error", true],
    ]);
    expect(updates[1]!.results.error).toMatchObject({
      exception: "ArchivedWorkspaceError",
      message: "Workspace old has been archived. Contact the OpenSAFELY tech team to resolve",
    });
    expect(updates[1]!.results.status_message).toBe("Job errored");
  });

  test("a task that keeps failing is reported as an error after MAX_TASK_RETRIES; other tasks keep going", async () => {
    await controller.stop();
    await f.cleanup();
    await setUp({ MAX_TASK_RETRIES: "3" });
    const broken = f.job({ image: "ghcr.io/opensafely-core/broken:v1" });
    f.runtime.unavailable.add(broken.image);
    const good = f.job();
    f.runtime.program = () => () => new Promise<number>(() => {});
    controller.tasks = [runTask(broken), runTask(good)];
    for (let i = 0; i < 3; i++) await pass();
    expect(controller.stagesOf(broken.task_id)).toEqual(["preparing", "preparing", "preparing", "error"]);
    const last = controller.updatesOf(broken.task_id).at(-1)!;
    expect(last.complete).toBe(true);
    expect(last.results.error).toMatchObject({
      exception: "ImageUnavailableError",
      message: "Docker image ghcr.io/opensafely-core/broken:v1 is not available",
    });
    expect(controller.stagesOf(good.task_id)).toEqual(["preparing", "prepared", "executing", "executing"]);
    expect(log.lines.filter((l) => l.msg === "task error: will retry")).toHaveLength(2);
  });

  test("an unresponsive runtime or its full disk is retried without counting towards MAX_TASK_RETRIES", async () => {
    await controller.stop();
    await f.cleanup();
    await setUp({ MAX_TASK_RETRIES: "1" });
    const job = f.job();
    controller.tasks = [runTask(job)];
    for (const error of [
      new RuntimeDiskSpaceError("docker ran out of disk space inspecting container"),
      new RuntimeTimeoutError("docker timed out after 30s inspecting container"),
    ]) {
      f.runtime.failNextInspect = error;
      await pass();
    }
    expect(controller.updates).toEqual([]);
    expect(log.lines.filter((l) => l.msg === "task error: will retry")).toHaveLength(2);
    await pass();
    expect(controller.stagesOf(job.task_id)).toEqual(["preparing", "prepared"]);
  });

  test("a slow prepare does not hold up other jobs", async () => {
    const slow = f.job({ image: "ghcr.io/opensafely-core/slow:v1" });
    const fast = f.job();
    const release = deferred();
    f.runtime.beforeEnsureImage = async (image) => {
      if (image === slow.image) await release.promise;
    };
    f.runtime.program = () => () => new Promise<number>(() => {});
    controller.tasks = [runTask(slow), runTask(fast)];
    const stop = new AbortController();
    const running = agent.loop.run(stop.signal);
    await waitFor(() => controller.stagesOf(fast.task_id).includes("executing"));
    expect(controller.stagesOf(slow.task_id)).toEqual(["preparing"]);
    release.resolve();
    await waitFor(() => controller.stagesOf(slow.task_id).includes("executing"));
    stop.abort();
    await running;
  });

  test("database jobs get the secrets at execute time only; an unknown database is reported", async () => {
    await controller.stop();
    await f.cleanup();
    await setUp({ DEFAULT_DATABASE_URL: "mssql://user:pw@127.0.0.1:1433/db", TEMP_DATABASE_NAME: "tmp" });
    const job = f.job({ allow_database_access: true, database_name: "default" });
    f.runtime.program = () => () => new Promise<number>(() => {});
    controller.tasks = [runTask(job)];
    await pass();
    await pass();
    const spec = f.runtime.started[0]!;
    expect(spec.env).toMatchObject({
      DATABASE_URL: "mssql://user:pw@127.0.0.1:1433/db",
      TEMP_DATABASE_NAME: "tmp",
    });
    expect(spec.network).toEqual({ kind: "database", network: "jobrunner-db", extraHosts: [] });
    expect(JSON.stringify(controller.updates)).not.toContain("pw@");

    const other = f.job({ allow_database_access: true, database_name: "nope" });
    controller.tasks = [runTask(other)];
    await pass();
    await pass();
    expect(controller.updatesOf(other.task_id).at(-1)!.results.error).toMatchObject({
      exception: "UnknownDatabaseError",
      message: "Database name 'nope' is not currently defined for backend 'test'",
    });
  });

  describe("DBSTATUS and DBDATACHECK", () => {
    beforeEach(async () => {
      await controller.stop();
      await f.cleanup();
      await setUp({ DEFAULT_DATABASE_URL: "mssql://u:p@127.0.0.1:1433/db" });
    });
    const dbTask = (type: "dbstatus" | "dbdatacheck", definition: Record<string, unknown>): AgentTask => ({
      id: `${type}-1`,
      backend: "test",
      type,
      definition: {
        image: "ghcr.io/opensafely-core/tpp-database-utils:latest",
        image_sha: "sha256:d",
        ...definition,
      },
      attributes: {},
      created_at: 1,
    });

    test.each([
      ["line 1\nline 2\ndb-maintenance ", { status: "db-maintenance" }],
      [" ", { status: "" }],
      ["db-maintenance;1", { status: "db-maintenance" }],
      ["none;2", { status: "" }],
    ])("DBSTATUS output %j → %j", async (stdout, results) => {
      f.runtime.oneOff = () => ({ exitCode: 0, stdout, stderr: "" });
      controller.tasks = [dbTask("dbstatus", { database_name: "default" })];
      await pass();
      expect(controller.updates).toEqual([
        {
          task_id: "dbstatus-1",
          stage: "",
          results: { results, error: null },
          complete: true,
          timestamp_ns: null,
        },
      ]);
      expect(f.runtime.oneOffs[0]).toMatchObject({
        image: "ghcr.io/opensafely-core/tpp-database-utils:latest@sha256:d",
        args: ["in_maintenance_mode"],
        env: { DATABASE_URL: "mssql://u:p@127.0.0.1:1433/db" },
        network: { kind: "database", network: "jobrunner-db", extraHosts: [] },
      });
    });

    test("unknown database name → KeyError; unexpected output → ValueError without the value", async () => {
      controller.tasks = [dbTask("dbstatus", { database_name: "no_such_database" })];
      await pass();
      expect(controller.updates[0]!.results).toEqual({
        results: null,
        error: { type: "KeyError", message: "'no_such_database'" },
      });
      f.runtime.oneOff = () => ({ exitCode: 0, stdout: "unexpected value", stderr: "" });
      controller.tasks = [dbTask("dbstatus", { database_name: "default" })];
      await pass();
      expect(controller.updates[1]!.results).toEqual({
        results: null,
        error: {
          type: "ValueError",
          message:
            "Invalid status, expected one of: , db-maintenance, db-maintenance;0, db-maintenance;1, db-maintenance;2, none;0, none;1, none;2",
        },
      });
      controller.tasks = [dbTask("dbdatacheck", { hes_expected_activity_month: "202304" })];
      await pass();
      expect(JSON.stringify(controller.updates[2])).not.toContain("unexpected value");
      expect(controller.updates[2]!.results).toMatchObject({ error: { type: "ValueError" } });
    });

    test("an unknown database name is quoted as Python's KeyError prints it", async () => {
      controller.tasks = [dbTask("dbstatus", { database_name: "a\\b'c\n" })];
      await pass();
      expect(controller.updates[0]!.results).toEqual({
        results: null,
        error: { type: "KeyError", message: '"a\\\\b\'c\\n"' },
      });
    });

    test("DBDATACHECK runs hes_cutoff_date_check {month}", async () => {
      f.runtime.oneOff = () => ({ exitCode: 0, stdout: "checking\nOK\n", stderr: "" });
      controller.tasks = [dbTask("dbdatacheck", { hes_expected_activity_month: "202304" })];
      await pass();
      expect(f.runtime.oneOffs[0]!.args).toEqual(["hes_cutoff_date_check", "202304"]);
      expect(controller.updates[0]!.results).toEqual({ results: { status: "OK" }, error: null });
    });
  });
});
