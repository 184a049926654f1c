/**
 * The Task API agents use (reference/scenarios.md group G, S150–S163), over HTTP against the controller as
 * `rap controller` builds it, with the scheduled DBSTATUS/DBDATACHECK tasks driven one pass at a time.
 */
import { afterEach, describe, expect, test } from "vitest";
import { deterministicJobId } from "../../src/domain/ids.js";
import { setDbMaintenance, setFlags } from "../../src/ops/flags.js";
import { FX_ACT } from "../jobs/fixtures.js";
import { type System, startSystem, T0_MS } from "../support/system.js";
import { finishedResults } from "../support/test-agent.js";
import { createRap, iso, studyRepo } from "./support.js";

const T0 = T0_MS / 1000;
let system: System;
afterEach(async () => system?.close());

async function raw(path: string, init: RequestInit = {}) {
  const response = await fetch(`${system.url}${path}`, init);
  const text = await response.text();
  return {
    status: response.status,
    body: text,
    json: text ? JSON.parse(text) : undefined,
    headers: response.headers,
  };
}

describe("authentication and paths", () => {
  test("S150: the health check answers GET and POST with the method, without a token", async () => {
    system = await startSystem();
    expect((await raw("/")).json).toEqual({ method: "GET" });
    expect((await raw("/", { method: "POST" })).json).toEqual({ method: "POST" });
  });

  test("S153/S154/S155: unknown backend first (404), then no token, then another backend's token (401)", async () => {
    system = await startSystem({
      BACKENDS: "test,foo",
      TEST_JOB_SERVER_TOKEN: "agent_token",
      FOO_JOB_SERVER_TOKEN: "foo_token",
    });
    expect(await raw("/bar/tasks/")).toMatchObject({
      status: 404,
      json: { error: "Not found", details: "Backend 'bar' not found" },
    });
    expect(await raw("/test/tasks/")).toMatchObject({
      status: 401,
      json: { error: "Unauthorized", details: "No token provided" },
    });
    expect(await raw("/test/tasks/", { headers: { authorization: "foo_token" } })).toMatchObject({
      status: 401,
      json: { error: "Unauthorized", details: "Invalid token for backend 'test'" },
    });
    expect((await raw("/test/tasks/", { headers: { authorization: "Bearer agent_token" } })).status).toBe(
      200,
    );
    // The update endpoint checks the backend and token before the method.
    expect((await raw("/test/task/update/")).status).toBe(401);
    const wrongMethod = await raw("/test/task/update/", { headers: { authorization: "agent_token" } });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("POST");
  });

  test("S151/S152: each backend sees only its own active tasks; polling records last_seen", async () => {
    system = await startSystem({
      BACKENDS: "test,foo",
      TEST_CLIENT_TOKENS: "test_token",
      FOO_CLIENT_TOKENS: "test_token",
      FOO_JOB_SERVER_TOKEN: "foo_token",
    });
    const repo = await studyRepo(FX_ACT);
    const onTest = await createRap(system, repo, ["action1", "action2"]);
    const onFoo = await createRap(system, repo, ["action1"], { backend: "foo" });
    await system.tick();
    await system.agent().finish(`${deterministicJobId(onTest, "action2")}-001`);
    expect((await system.agent().tasks()).map((t) => t.id)).toEqual([
      `${deterministicJobId(onTest, "action1")}-001`,
    ]);
    expect((await system.agent("foo", "foo_token").tasks()).map((t) => t.id)).toEqual([
      `${deterministicJobId(onFoo, "action1")}-001`,
    ]);
    const status = await system.get("/backend/status/");
    expect(status.json.backends).toMatchObject([
      { slug: "test", last_seen: iso(T0) },
      { slug: "foo", last_seen: iso(T0) },
    ]);
  });
});

describe("updates", () => {
  async function withTask() {
    system = await startSystem();
    const rap = await createRap(system, await studyRepo(FX_ACT), ["action1"]);
    await system.tick();
    return { rap, taskId: `${deterministicJobId(rap, "action1")}-001` };
  }

  test("S156/S157/S159: stage and results are stored; an incomplete update keeps the task active", async () => {
    const { rap, taskId } = await withTask();
    expect(
      await system.agent().update(taskId, "prepared", { results: { foo: "bar" }, timestampNs: "" }),
    ).toEqual({
      status: 200,
      json: { response: "Update successful" },
    });
    expect(await system.agent().task(taskId)).toBeDefined();
    system.clock.advance(3_000);
    await system.tick();
    expect((await system.jobs(rap)).action1).toMatchObject({
      status_code: "prepared",
      updated_at: iso(T0 + 3),
    });
    await system.agent().update(taskId, "executing", { timestampNs: (T0 + 9) * 1e9 });
    await system.tick();
    expect((await system.jobs(rap)).action1).toMatchObject({
      status_code: "executing",
      updated_at: iso(T0 + 9),
    });
  });

  test("S158, ours: an unknown task → 404 naming it (the reference answers 500 Error updating task)", async () => {
    await withTask();
    expect(await system.agent().update("unknown-task-id", "prepared")).toEqual({
      status: 404,
      json: { error: "Not found", details: "No task 'unknown-task-id' for backend 'test'" },
    });
  });

  test("DESIGN DECISIONS 7: another backend's task is refused, and nothing is recorded", async () => {
    system = await startSystem({ BACKENDS: "test,foo", FOO_JOB_SERVER_TOKEN: "foo_token" });
    const rap = await createRap(system, await studyRepo(FX_ACT), ["action1"]);
    await system.tick();
    const taskId = `${deterministicJobId(rap, "action1")}-001`;
    expect(
      await system.agent("foo", "foo_token").update(taskId, "executing", { results: {}, complete: true }),
    ).toEqual({
      status: 404,
      json: { error: "Not found", details: `No task '${taskId}' for backend 'foo'` },
    });
    expect(await system.agent().task(taskId)).toBeDefined();
  });

  test.each([
    ["", "The form has no 'payload' field"],
    ["payload=%7Bnot-json", "'payload' is not valid JSON"],
    [`payload=${encodeURIComponent("[1]")}`, "'payload' must be a JSON object"],
    [
      `payload=${encodeURIComponent('{"stage":"x","complete":true}')}`,
      "'payload.task_id' must be a non-empty string",
    ],
    [`payload=${encodeURIComponent('{"task_id":"t","complete":true}')}`, "'payload.stage' must be a string"],
    [
      `payload=${encodeURIComponent('{"task_id":"t","stage":"x","complete":"yes"}')}`,
      "'payload.complete' must be true or false",
    ],
    [
      `payload=${encodeURIComponent(`${"[".repeat(5000)}${"]".repeat(5000)}`)}`,
      "'payload' is nested more than 256 levels deep",
    ],
    [
      `payload=${encodeURIComponent('{"task_id":"t","stage":"x","complete":true,"results":[]}')}`,
      "'payload.results' must be an object",
    ],
    [
      `payload=${encodeURIComponent('{"task_id":"t","stage":"x","complete":true,"timestamp_ns":"soon"}')}`,
      "'payload.timestamp_ns' must be a time in nanoseconds between 2000 and one day from now",
    ],
  ])(
    "a malformed update (%j) → 400 with what is wrong (the reference answers 500)",
    async (form, details) => {
      system = await startSystem();
      const answer = await raw("/test/task/update/", {
        method: "POST",
        headers: { authorization: "agent_token", "content-type": "application/x-www-form-urlencoded" },
        body: form,
      });
      expect(answer).toMatchObject({ status: 400, json: { error: "Invalid task update", details } });
    },
  );
});

describe("scheduled database tasks", () => {
  test("S160: one DBSTATUS task at a time, every MAINTENANCE_POLL_INTERVAL, switched off by manual maintenance without checks", async () => {
    system = await startSystem({ MAINTENANCE_ENABLED_BACKENDS: "test", MAINTENANCE_POLL_INTERVAL: "300" });
    const repo = await studyRepo(FX_ACT);
    await createRap(system, repo, ["action1"]);
    await system.tick();
    let tasks = await system.agent().tasks();
    expect(tasks.map((t) => t.type)).toEqual(["dbstatus", "runjob"]);
    const [dbstatus] = tasks;
    expect(dbstatus).toMatchObject({
      backend: "test",
      definition: {
        database_name: "default",
        image: "ghcr.io/opensafely-core/tpp-database-utils:latest",
        image_sha: null,
      },
      attributes: {},
      created_at: T0,
    });
    expect(dbstatus!.id).toMatch(/^dbstatus-\d{4}-\d{2}-\d{2}-[0-9a-f]{20}$/);
    await system.tick();
    expect((await system.agent().tasks()).filter((t) => t.type === "dbstatus")).toHaveLength(1);

    await system.agent().update(dbstatus!.id, "", { results: {}, complete: true });
    system.clock.advance(1_000);
    await system.tick();
    expect((await system.agent().tasks()).filter((t) => t.type === "dbstatus")).toHaveLength(0);
    system.clock.advance(300_000);
    await system.tick();
    tasks = (await system.agent().tasks()).filter((t) => t.type === "dbstatus");
    expect(tasks).toHaveLength(1);

    await setFlags(system.controller.storage.flags, "test", [["manual-db-maintenance", "on"]]);
    await system.tick();
    expect((await system.agent().tasks()).filter((t) => t.type === "dbstatus")).toHaveLength(1);
    await setFlags(system.controller.storage.flags, "test", [["db-maintenance-checks-disabled", "true"]]);
    await system.tick();
    expect((await system.agent().tasks()).filter((t) => t.type === "dbstatus")).toHaveLength(0);
  });

  test("S161/S162: the DBSTATUS result sets the mode, unless maintenance was set by hand", async () => {
    system = await startSystem({ MAINTENANCE_ENABLED_BACKENDS: "test" });
    const report = async (status: string) => {
      system.clock.advance(301_000);
      await system.tick();
      const [task] = (await system.agent().tasks()).filter((t) => t.type === "dbstatus");
      await system
        .agent()
        .update(task!.id, "", { results: { results: { status }, error: null }, complete: true });
      return (await system.get("/backend/status/")).json.backends[0].db_maintenance;
    };
    expect(await report("db-maintenance")).toMatchObject({ status: "on", type: "scheduled" });
    expect(await report("")).toMatchObject({ status: "off", type: null });
    await setDbMaintenance(system.controller.storage.flags, "test", true);
    expect(await report("")).toMatchObject({ status: "on", type: "manual" });
    expect(await report("db-maintenance")).toMatchObject({ status: "on", type: "manual" });
    // An error result leaves the mode as it is.
    await setDbMaintenance(system.controller.storage.flags, "test", false);
    system.clock.advance(301_000);
    await system.tick();
    const [task] = (await system.agent().tasks()).filter((t) => t.type === "dbstatus");
    await system.agent().update(task!.id, "", {
      results: { results: null, error: { type: "KeyError", message: "'x'" } },
      complete: true,
    });
    expect((await system.get("/backend/status/")).json.backends[0].db_maintenance.status).toBe("off");
  });

  test("S163: DBDATACHECK is created outside maintenance only, and switched off when maintenance starts", async () => {
    system = await startSystem({ DATA_CHECK_ENABLED_BACKENDS: "test" });
    await setDbMaintenance(system.controller.storage.flags, "test", true);
    await system.tick();
    expect(await system.agent().tasks()).toEqual([]);
    await setDbMaintenance(system.controller.storage.flags, "test", false);
    await system.tick();
    const tasks = await system.agent().tasks();
    expect(tasks).toMatchObject([
      {
        type: "dbdatacheck",
        definition: {
          hes_expected_activity_month: "202304",
          image: "ghcr.io/opensafely-core/tpp-database-utils:latest",
          image_sha: null,
        },
      },
    ]);
    await setDbMaintenance(system.controller.storage.flags, "test", true);
    await system.tick();
    expect(await system.agent().tasks()).toEqual([]);
  });
});

test("a job's finished results give rap/status its metrics (S107)", async () => {
  system = await startSystem();
  const rap = await createRap(system, await studyRepo(FX_ACT), ["action1"]);
  await system.tick();
  await system
    .agent()
    .finish(
      `${deterministicJobId(rap, "action1")}-001`,
      finishedResults({ job_metrics: { cpu_mean: 42.5 } }),
    );
  await system.tick();
  expect((await system.jobs(rap)).action1.metrics).toEqual({ cpu_mean: 42.5 });
});
