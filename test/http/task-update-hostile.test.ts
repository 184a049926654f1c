/**
 * Hostile task updates over the real Task API (issue 14, controller side): what an agent sends is checked before it
 * is stored, and nothing already stored can make a read path throw. Each test performs the attack over HTTP against
 * the controller as `rap controller` builds it, then checks rap/status, `rap jobs` and the scheduler still work.
 */
import pino from "pino";
import { afterEach, describe, expect, test } from "vitest";
import { deterministicJobId } from "../../src/domain/ids.js";
import { unreadableTimesLogger } from "../../src/http/routes/rap-status.js";
import { formatJobTable, listJobs } from "../../src/ops/jobs.js";
import { FX_ACT } from "../jobs/fixtures.js";
import { createRap, studyRepo } from "../scheduler/support.js";
import { testDatabaseIsPostgres } from "../support/postgres.js";
import { type System, startSystem, T0_MS } from "../support/system.js";
import { finishedResults } from "../support/test-agent.js";

const T0_NS = T0_MS * 1e6;
let system: System;
afterEach(async () => system?.close());

/** A RAP with one job whose RUNJOB task the agent holds. */
async function withTask() {
  system = await startSystem();
  const rap = await createRap(system, await studyRepo(FX_ACT), ["action1"]);
  await system.tick();
  return { rap, taskId: `${deterministicJobId(rap, "action1")}-001` };
}

/** Posts a raw payload (any JSON text) as the agent's form. */
async function postPayload(payload: string) {
  const response = await fetch(`${system.url}/test/task/update/`, {
    method: "POST",
    headers: { authorization: "agent_token", "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ payload }).toString(),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}

describe("1. numbers and times an agent sends", () => {
  test("timestamp_ns 1e300 is refused 400 naming the field, and rap/status keeps answering", async () => {
    const { rap, taskId } = await withTask();
    expect(await system.agent().update(taskId, "executing", { timestampNs: 1e300 })).toEqual({
      status: 400,
      json: {
        error: "Invalid task update",
        details: "'payload.timestamp_ns' must be a time in nanoseconds between 2000 and one day from now",
      },
    });
    await system.tick();
    const status = await system.post("/rap/status/", { rap_ids: [rap] });
    expect(status.status).toBe(200);
    expect(status.json.jobs[0]).toMatchObject({ status_code: "initiated" });
  });

  const TIME_NS = "a time in nanoseconds between 2000 and one day from now";
  test.each([
    ["timestamp_ns", `"timestamp_ns":${T0_NS - 1e9 * 1e9}`, TIME_NS],
    ["timestamp_ns", `"timestamp_ns":${T0_NS + 2 * 86_400e9}`, TIME_NS],
    ["timestamp_ns", `"timestamp_ns":${T0_NS}.5`, TIME_NS],
    ["timestamp_ns", `"timestamp_ns":1e300`, TIME_NS],
    [
      "results.timestamp_ns",
      `"results":{"timestamp_ns":1e300}`,
      "a time in nanoseconds between 2000 and 9999",
    ],
    ["results.exit_code", `"results":{"exit_code":1e300}`, "an integer exit code"],
    ["results.exit_code", `"results":{"exit_code":99999999999}`, "an integer exit code"],
    ["results.created_at", `"results":{"created_at":-1e300}`, "a time in seconds between 2000 and 9999"],
    [
      "results.completed_at",
      `"results":{"completed_at":1700000000.5}`,
      "a time in seconds between 2000 and 9999",
    ],
    ["results.job_metrics", `"results":{"job_metrics":[]}`, "an object"],
    ["results.job_metrics.cpu_peak", `"results":{"job_metrics":{"cpu_peak":1e400}}`, "a finite number"],
    ["results.job_metrics.cpu_peak", `"results":{"job_metrics":{"cpu_peak":NaN}}`, "a finite number"],
    ["results.x[1]", `"results":{"x":[1,-Infinity]}`, "a finite number"],
  ])("%s out of range (%s) → 400 naming it", async (field, fragment, expected) => {
    const { taskId } = await withTask();
    const answer = await postPayload(
      `{"task_id":"${taskId}","stage":"executing","complete":false,${fragment}}`,
    );
    expect(answer).toEqual({
      status: 400,
      json: { error: "Invalid task update", details: `'payload.${field}' must be ${expected}` },
    });
  });

  test("a bad value already in the database is shown as null: rap/status, rap jobs and the scheduler keep working", async () => {
    const { rap, taskId } = await withTask();
    // As large as each database's column can hold: SQLite stores any number, PostgreSQL's are bigint.
    const huge = testDatabaseIsPostgres() ? 9e18 : 1e300;
    await system.db
      .updateTable("job")
      .set({ status_code_updated_at: huge, started_at: huge, updated_at: -huge })
      .execute();
    const status = await system.post("/rap/status/", { rap_ids: [rap] });
    expect(status.status).toBe(200);
    expect(status.json.jobs[0]).toMatchObject({
      started_at: null,
      updated_at: null,
      status_code: "initiated",
    });

    const { jobs } = await listJobs(system.controller.storage.jobs, { limit: 10 });
    expect(formatJobTable(jobs)).toContain("initiated");

    await system.agent().update(taskId, "executing", { timestampNs: T0_NS + 5e9 });
    await system.tick();
    const after = (await system.jobs(rap)).action1;
    expect(after).toMatchObject({ status_code: "executing" });
    expect(after.updated_at).toBe("2023-11-14T22:13:25Z");
  });
});

test("each unreadable stored time is logged once, not on every status poll that shows it", () => {
  const lines: { times: string[]; msg: string }[] = [];
  const report = unreadableTimesLogger(
    pino({}, { write: (line: string) => void lines.push(JSON.parse(line)) }),
  );
  report(["1e+300"]);
  report(["1e+300", "1e+300"]);
  report(["-1e+300", "1e+300"]);
  expect(lines.map((line) => line.times)).toEqual([["1e+300"], ["-1e+300"]]);
  expect(lines[0]!.msg).toBe(
    "rap/status shows stored job times that are no valid time as null: the database holds bad values",
  );
});

describe("9, 10, 11: long strings, deep nesting, unknown ids", () => {
  test("a 700 KB status message is cut at MAX_AGENT_STRING_CHARS with a marker, in the job's status and results", async () => {
    const { rap, taskId } = await withTask();
    const huge = `é${"x".repeat(700_000)}`;
    const answer = await system
      .agent()
      .finish(taskId, finishedResults({ exit_code: "1", status_message: huge, error: false }));
    expect(answer.status).toBe(200);
    await system.tick();
    const job = (await system.jobs(rap)).action1;
    const cutMessage = `${huge.slice(0, 10_000)} … [cut by the controller: 690001 more characters]`;
    expect(job.status_message).toBe(`Job exited with an error: ${cutMessage}`);
    const stored = await system.controller.storage.tasks.get(taskId);
    expect(stored?.agentResults?.status_message).toBe(cutMessage);
  });

  test("a payload nested 5,000 deep is refused 400 (the RAP API's nesting limit), and the task is untouched", async () => {
    const { taskId } = await withTask();
    const deep = `${'{"a":'.repeat(5000)}1${"}".repeat(5000)}`;
    const answer = await postPayload(
      `{"task_id":"${taskId}","stage":"executing","complete":true,"results":${deep}}`,
    );
    expect(answer).toEqual({
      status: 400,
      json: { error: "Invalid task update", details: "'payload' is nested more than 256 levels deep" },
    });
    expect(await system.agent().task(taskId)).toBeDefined();
  });

  test("an unknown task id → 404 naming it (at most 200 characters of it)", async () => {
    await withTask();
    const long = "t".repeat(5000);
    expect(await system.agent().update(long, "executing")).toEqual({
      status: 404,
      json: { error: "Not found", details: `No task '${"t".repeat(200)}…' for backend 'test'` },
    });
  });
});

describe("5. late updates and lost tasks", () => {
  test("complete, then an older incomplete update: the task stays complete and the job finishes", async () => {
    const { rap, taskId } = await withTask();
    expect((await system.agent().finish(taskId, finishedResults(), T0_NS + 9e9)).status).toBe(200);
    expect(await system.agent().update(taskId, "executing", { timestampNs: T0_NS + 5e9 })).toEqual({
      status: 200,
      json: { response: "Update successful" },
    });
    await system.tick();
    expect((await system.jobs(rap)).action1).toMatchObject({ status: "succeeded", status_code: "succeeded" });
    expect(await system.agent().task(taskId)).toBeUndefined();
  });

  test("a stage going backwards is ignored", async () => {
    const { rap, taskId } = await withTask();
    await system.agent().update(taskId, "executed", { timestampNs: T0_NS + 5e9 });
    await system.agent().update(taskId, "prepared", { timestampNs: T0_NS + 6e9 });
    await system.tick();
    expect((await system.jobs(rap)).action1).toMatchObject({ status_code: "executed" });
    expect((await system.controller.storage.tasks.get(taskId))?.agentStage).toBe("executed");
  });

  test("a running job whose task ended without a result fails with a message, instead of running forever", async () => {
    const { rap, taskId } = await withTask();
    await system.agent().update(taskId, "executing", { timestampNs: T0_NS + 1e9 });
    await system.tick();
    // The task ends without a report (the wedge of issue 14: complete, then an older incomplete update, before the
    // fix; or a hand-edited database): nothing will ever report on it.
    await system.controller.storage.tasks.deactivate(taskId, T0_MS / 1000 + 2);
    await system.tick();
    expect((await system.jobs(rap)).action1).toMatchObject({
      status: "failed",
      status_code: "internal_error",
      status_message:
        "The backend lost track of this job before it finished, so it was stopped. Please run it again; if this happens again, contact tech support.",
    });
  });

  test("a task silent for TASK_SILENCE_TIMEOUT while the agent polls is failed and cancelled; a silent agent fails nothing", async () => {
    system = await startSystem({ TASK_SILENCE_TIMEOUT: "600" });
    const rap = await createRap(system, await studyRepo(FX_ACT), ["action1"]);
    await system.tick();
    const taskId = `${deterministicJobId(rap, "action1")}-001`;
    await system.agent().update(taskId, "executing", { timestampNs: T0_NS });
    // The whole backend goes quiet for an hour (agent down): the job waits for it.
    system.clock.advance(3_600_000);
    await system.tick();
    expect((await system.jobs(rap)).action1).toMatchObject({ status_code: "executing" });
    // The agent is back, and keeps polling for ten minutes without a word about this task.
    await system.agent().tasks();
    await system.tick();
    system.clock.advance(599_000);
    await system.agent().tasks();
    await system.tick();
    expect((await system.jobs(rap)).action1).toMatchObject({ status_code: "executing" });
    system.clock.advance(1_000);
    expect((await system.agent().tasks()).map((t) => t.id)).toEqual([taskId]);
    await system.tick();
    expect((await system.jobs(rap)).action1).toMatchObject({
      status: "failed",
      status_code: "internal_error",
      status_message:
        "The backend stopped reporting on this job (nothing for 10 minutes while it kept working on others), so it was stopped. Please run it again; if this happens again, contact tech support.",
    });
    // The agent is told to stop it.
    expect((await system.agent().tasks()).map((t) => [t.id, t.type])).toEqual([
      [`${taskId}-cancel`, "canceljob"],
    ]);
  });
});
