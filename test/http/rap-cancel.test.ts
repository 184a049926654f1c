/**
 * Group D of reference/scenarios.md: `POST rap/cancel/`. Jobs are seeded in the database (creating them over HTTP
 * and the controller loop that turns `cancelled` into `cancelled_by_user` come with later issues).
 */
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { insertJobs } from "../../src/db/queries/jobs.js";
import { insertTask } from "../../src/db/queries/tasks.js";
import { ManualClock } from "../../src/domain/clock.js";
import { deterministicJobId } from "../../src/domain/ids.js";
import type { Job } from "../../src/domain/job.js";
import { makeJob } from "../support/factories.js";
import { startApi, type TestApi } from "./support.js";

const X = "abcdefgh23456789";
const NOW = 1700000500;
const clock = new ManualClock(NOW * 1000);

let api: TestApi;
beforeEach(async () => {
  clock.set(NOW * 1000);
  api = await startApi(undefined, { clock });
});
afterEach(async () => {
  await api.close();
});

const job = (action: string, overrides: Partial<Job> = {}) =>
  makeJob({ rapId: X, action, createdAt: 1700000000, updatedAt: 1700000000, ...overrides });

async function row(action: string) {
  return api.db
    .selectFrom("job")
    .select(["state", "status_code", "cancelled", "completed_at"])
    .where("id", "=", deterministicJobId(X, action))
    .executeTakeFirstOrThrow();
}

const cancel = (actions: unknown, rapId: unknown = X) => api.post("/rap/cancel/", { rap_id: rapId, actions });

describe("cancelling", () => {
  test("S092: cancelling a pending action marks it; the loop does the rest on its next pass", async () => {
    await insertJobs(api.db, [job("action1")]);
    expect(await cancel(["action1"])).toMatchObject({
      status: 200,
      json: { result: "Success", details: "1 actions cancelled", count: 1 },
    });
    expect(Object.keys((await cancel(["action1"])).json as object)).toEqual(["result", "details", "count"]);
    expect(await row("action1")).toEqual({
      state: "pending",
      status_code: "created",
      cancelled: 1,
      completed_at: NOW,
    });
  });

  test("S093: cancelling a running action with a RUNJOB task (seeded; the CANCELJOB task is the loop's)", async () => {
    await insertJobs(api.db, [
      job("action1", { state: "running", statusCode: "executing", startedAt: 1700000100 }),
    ]);
    const id = deterministicJobId(X, "action1");
    await insertTask(api.db, {
      id: `${id}-001`,
      backend: "test",
      type: "runjob",
      jobId: id,
      definition: {},
      attributes: {},
      createdAt: 1,
    });
    expect(await cancel(["action1"])).toMatchObject({
      status: 200,
      json: { details: "1 actions cancelled", count: 1 },
    });
    expect(await row("action1")).toMatchObject({ state: "running", cancelled: 1, completed_at: NOW });
  });

  test("S094/S105: cancelling several actions at once (pending and running)", async () => {
    await insertJobs(api.db, [
      job("action1"),
      job("action2", { state: "running", statusCode: "executing" }),
      job("action3", { state: "running", statusCode: "initiated" }),
    ]);
    expect(await cancel(["action1", "action2", "action3"])).toMatchObject({
      status: 200,
      json: { result: "Success", details: "3 actions cancelled", count: 3 },
    });
    for (const action of ["action1", "action2", "action3"]) expect((await row(action)).cancelled).toBe(1);
  });

  test("S101: duplicates are counted", async () => {
    await insertJobs(api.db, [job("action1")]);
    expect((await cancel(["action1", "action1"])).json).toEqual({
      result: "Success",
      details: "2 actions cancelled",
      count: 2,
    });
  });

  test("S102: cancelling is repeatable; a second cancel moves completed_at", async () => {
    await insertJobs(api.db, [job("action1")]);
    expect((await cancel(["action1"])).status).toBe(200);
    clock.set((NOW + 60) * 1000);
    expect((await cancel(["action1"])).json).toMatchObject({ details: "1 actions cancelled" });
    expect((await row("action1")).completed_at).toBe(NOW + 60);
  });

  test("S103 differs (DESIGN DECISIONS 3): a finished job keeps its state, completed_at and place in history", async () => {
    await insertJobs(api.db, [
      job("action1", { state: "succeeded", statusCode: "succeeded", completedAt: 1700000200 }),
    ]);
    expect(await cancel(["action1"])).toMatchObject({
      status: 200,
      json: { details: "1 actions cancelled", count: 1 },
    });
    expect(await row("action1")).toEqual({
      state: "succeeded",
      status_code: "succeeded",
      cancelled: 0,
      completed_at: 1700000200,
    });
  });

  test("S104: a pending database job can be cancelled during maintenance (seeded; the loop's part comes later)", async () => {
    await insertJobs(api.db, [
      job("generate_dataset", { requiresDb: true, statusCode: "waiting_db_maintenance" }),
    ]);
    expect((await cancel(["generate_dataset"])).status).toBe(200);
    expect(await row("generate_dataset")).toMatchObject({ cancelled: 1, completed_at: NOW });
  });
});

describe("refusals", () => {
  test("S095: rap_id is required", async () => {
    expect(await api.post("/rap/cancel/", { actions: ["action1"] })).toMatchObject({
      status: 400,
      json: {
        error: "Validation error",
        details: "Invalid request body received: 'rap_id' is a required property",
      },
    });
  });

  test.each([
    [{}, "Invalid request body received: 'rap_id' is a required property"],
    [{ rap_id: "abcdefgh12345678" }, "Invalid request body received: 'actions' is a required property"],
    [
      { rap_id: "abcdefgh12345678", actions: [] },
      "Invalid request body received at $.actions: [] should be non-empty",
    ],
    [
      { rap_id: "abcdefgh12345678", actions: "a" },
      "Invalid request body received at $.actions: 'a' is not of type 'array'",
    ],
    [
      { rap_id: "abcdefgh12345678", actions: [1] },
      "Invalid request body received at $.actions[0]: 1 is not of type 'string'",
    ],
    [
      { rap_id: "bad", actions: ["a"] },
      "Invalid request body received at $.rap_id: 'bad' does not match '^[a-z0-9]{16}$'",
    ],
    [
      { rap_id: null, actions: ["a"] },
      "Invalid request body received at $.rap_id: None is not of type 'string'",
    ],
  ])("S096: %j", async (body, details) => {
    expect(await api.post("/rap/cancel/", body)).toMatchObject({
      status: 400,
      json: { error: "Validation error", details },
    });
  });

  test("S097: an unknown rap_id → 404", async () => {
    const answer = await cancel(["action1"], "abcdefgh12345678");
    expect(answer).toMatchObject({
      status: 404,
      json: {
        error: "jobs not found",
        details: "No jobs found for rap_id abcdefgh12345678",
        rap_id: "abcdefgh12345678",
      },
    });
    expect(Object.keys(answer.json as object)).toEqual(["error", "details", "rap_id"]);
  });

  test("S098: actions the RAP does not have → 404 listing them, sorted", async () => {
    await insertJobs(api.db, [job("action1")]);
    const answer = await cancel(["action3", "action2"]);
    expect(answer).toMatchObject({
      status: 404,
      json: {
        error: "jobs not found",
        details: "Jobs matching requested cancelled actions could not be found: action2,action3",
        rap_id: X,
        not_found: ["action2", "action3"],
      },
    });
    expect(Object.keys(answer.json as object)).toEqual(["error", "details", "rap_id", "not_found"]);
  });

  test("S099: if some actions are unknown, nothing is cancelled", async () => {
    await insertJobs(api.db, [job("action1")]);
    expect(await cancel(["action3", "action1", "action2"])).toMatchObject({
      status: 404,
      json: {
        details: "Jobs matching requested cancelled actions could not be found: action2,action3",
        not_found: ["action2", "action3"],
      },
    });
    expect(await row("action1")).toMatchObject({ cancelled: 0, completed_at: null });
  });

  test("S100: a RAP on a backend the token cannot see is not found, and stays as it is", async () => {
    const other = await startApi({
      BACKENDS: "test,foo",
      TEST_CLIENT_TOKENS: "test_token",
      FOO_CLIENT_TOKENS: "admin",
    });
    try {
      await insertJobs(other.db, [job("action1", { backend: "foo" })]);
      expect(await other.post("/rap/cancel/", { rap_id: X, actions: ["action1"] })).toMatchObject({
        status: 404,
        json: { error: "jobs not found", details: `No jobs found for rap_id ${X}`, rap_id: X },
      });
      const stored = await other.db.selectFrom("job").select("cancelled").executeTakeFirstOrThrow();
      expect(stored.cancelled).toBe(0);
    } finally {
      await other.close();
    }
  });
});
