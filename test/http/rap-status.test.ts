/**
 * Group E of reference/scenarios.md: `POST rap/status/`. Jobs and tasks are seeded in the database: creating jobs,
 * the controller loop and the agent come with later issues, so the states they would reach are written directly.
 */
import type { KyselyPlugin } from "kysely";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { insertJobs } from "../../src/db/queries/jobs.js";
import { insertTask, recordAgentUpdate } from "../../src/db/queries/tasks.js";
import { deterministicJobId } from "../../src/domain/ids.js";
import { testDatabaseIsPostgres } from "../support/postgres.js";
import { job, runJobTask, T, TRACE, X } from "./status-fixtures.js";
import { startApi, type TestApi } from "./support.js";

let api: TestApi;
beforeEach(async () => {
  api = await startApi();
});
afterEach(async () => {
  await api.close();
});

async function status(rapIds: unknown, token = "test_token") {
  const answer = await api.post("/rap/status/", { rap_ids: rapIds }, { authorization: token });
  expect(answer.status).toBe(200);
  return answer.json as { jobs: Record<string, unknown>[]; unrecognised_rap_ids: string[] };
}

describe("status of jobs", () => {
  test("S106: a fresh job, with exactly the 15 keys in the reference's order", async () => {
    await insertJobs(api.db, [
      job({
        runCommand: "ehrql:v1 generate-dataset analysis/dataset_definition.py --output output/dataset.csv.gz",
        requiresDb: true,
      }),
    ]);
    const answer = await api.post("/rap/status/", { rap_ids: [X] });
    expect(answer.status).toBe(200);
    const body = answer.json as { jobs: Record<string, unknown>[] };
    expect(Object.keys(answer.json as object)).toEqual(["jobs", "unrecognised_rap_ids"]);
    expect(Object.keys(body.jobs[0]!)).toEqual([
      "identifier",
      "rap_id",
      "backend",
      "action",
      "run_command",
      "status",
      "status_code",
      "status_message",
      "created_at",
      "updated_at",
      "started_at",
      "completed_at",
      "trace_context",
      "metrics",
      "requires_db",
    ]);
    expect(answer.json).toEqual({
      jobs: [
        {
          identifier: deterministicJobId(X, "generate_dataset"),
          rap_id: X,
          backend: "test",
          action: "generate_dataset",
          run_command:
            "ehrql:v1 generate-dataset analysis/dataset_definition.py --output output/dataset.csv.gz",
          status: "pending",
          status_code: "created",
          status_message: "Created",
          created_at: "2023-11-14T22:13:20Z",
          updated_at: "2023-11-14T22:13:20Z",
          started_at: null,
          completed_at: null,
          trace_context: TRACE,
          metrics: {},
          requires_db: true,
        },
      ],
      unrecognised_rap_ids: [],
    });
  });

  test("S107: running / executing (seeded: the loop and agent come later)", async () => {
    await insertJobs(api.db, [
      job({
        state: "running",
        statusCode: "executing",
        statusMessage: "Job executing on the backend",
        startedAt: T + 100,
        updatedAt: T + 200,
      }),
    ]);
    expect((await status([X])).jobs[0]).toMatchObject({
      status: "running",
      status_code: "executing",
      status_message: "Job executing on the backend",
      started_at: "2023-11-14T22:15:00Z",
      updated_at: "2023-11-14T22:16:40Z",
      completed_at: null,
    });
  });

  test("S108: succeeded (seeded)", async () => {
    await insertJobs(api.db, [
      job({
        state: "succeeded",
        statusCode: "succeeded",
        statusMessage: "Completed successfully",
        startedAt: T,
        completedAt: T + 200,
      }),
    ]);
    expect((await status([X])).jobs[0]).toMatchObject({
      status: "succeeded",
      status_code: "succeeded",
      status_message: "Completed successfully",
      completed_at: "2023-11-14T22:16:40Z",
    });
  });

  test("S109: failed / dependency_failed (seeded)", async () => {
    await insertJobs(api.db, [
      job({
        state: "failed",
        statusCode: "dependency_failed",
        statusMessage: "Not starting as dependency failed",
        completedAt: T + 100,
      }),
    ]);
    expect((await status([X])).jobs[0]).toMatchObject({
      status: "failed",
      status_code: "dependency_failed",
      status_message: "Not starting as dependency failed",
      started_at: null,
      completed_at: "2023-11-14T22:15:00Z",
    });
  });

  test("S119: a null status message shows as '' and a job with no trace context shows null", async () => {
    await insertJobs(api.db, [job({ statusMessage: null, traceContext: null })]);
    expect((await status([X])).jobs[0]).toMatchObject({
      status_message: "",
      trace_context: null,
      requires_db: false,
    });
  });

  test("any text in a job's fields comes back intact, as ASCII JSON", async () => {
    const awkward = `it's "quoted" \\ back\tslash\n é 😀 \u0001 \u007f`;
    await insertJobs(api.db, [
      job({ action: awkward, runCommand: `python:v2 ${awkward}`, statusMessage: awkward }),
    ]);
    const answer = await api.post("/rap/status/", { rap_ids: [X] });
    expect(answer.body).not.toMatch(/[^\x20-\x7e]/);
    expect((answer.json as { jobs: unknown[] }).jobs[0]).toMatchObject({
      action: awkward,
      run_command: `python:v2 ${awkward}`,
      status_message: awkward,
    });
  });

  test("S120: cancelled and finished jobs stay visible", async () => {
    await insertJobs(api.db, [
      job({
        cancelled: true,
        state: "failed",
        statusCode: "cancelled_by_user",
        statusMessage: "Cancelled by user",
        completedAt: T,
      }),
    ]);
    expect((await status([X])).jobs).toHaveLength(1);
  });
});

describe("validation", () => {
  test("S110: rap_ids is required", async () => {
    expect(await api.post("/rap/status/", {})).toMatchObject({
      status: 400,
      json: {
        error: "Validation error",
        details: "Invalid request body received: 'rap_ids' is a required property",
      },
    });
  });

  test.each([
    [
      { rap_ids: "abcdefgh12345678" },
      "Invalid request body received at $.rap_ids: 'abcdefgh12345678' is not of type 'array'",
    ],
    [
      { rap_ids: ["bad"] },
      "Invalid request body received at $.rap_ids[0]: 'bad' does not match '^[a-z0-9]{16}$'",
    ],
    [
      { rap_ids: ["abcdefgh12345678", "UPPERCASE1234567"] },
      "Invalid request body received at $.rap_ids[1]: 'UPPERCASE1234567' does not match '^[a-z0-9]{16}$'",
    ],
    [{ rap_ids: [1] }, "Invalid request body received at $.rap_ids[0]: 1 is not of type 'string'"],
    [{ rap_ids: null }, "Invalid request body received at $.rap_ids: None is not of type 'array'"],
  ])("S111: %j", async (body, details) => {
    expect(await api.post("/rap/status/", body)).toMatchObject({
      status: 400,
      json: { error: "Validation error", details },
    });
  });
});

describe("which jobs", () => {
  test("S112: an unknown rap id is unrecognised", async () => {
    expect(await status(["hgfedca987654321"])).toEqual({
      jobs: [],
      unrecognised_rap_ids: ["hgfedca987654321"],
    });
  });

  test("S113: a RAP on a backend the token cannot see is unrecognised, like an unknown one", async () => {
    const other = await startApi({
      BACKENDS: "test,foo",
      TEST_CLIENT_TOKENS: "test_token",
      FOO_CLIENT_TOKENS: "admin",
    });
    try {
      await insertJobs(other.db, [job({ backend: "foo" })]);
      expect((await other.post("/rap/status/", { rap_ids: [X] })).json).toEqual({
        jobs: [],
        unrecognised_rap_ids: [X],
      });
      expect(
        (
          (await other.post("/rap/status/", { rap_ids: [X] }, { authorization: "admin" })).json as {
            jobs: [];
          }
        ).jobs,
      ).toHaveLength(1);
    } finally {
      await other.close();
    }
  });

  test("S114: an empty list", async () => {
    expect(await status([])).toEqual({ jobs: [], unrecognised_rap_ids: [] });
  });

  test("S115: a mixed request: only requested RAPs on the token's backends", async () => {
    const other = await startApi({ BACKENDS: "test,test1", TEST_CLIENT_TOKENS: "test_token" });
    try {
      const [j1, j2, j3, j4] = [
        "j1aaaaaaaaaaaaaa",
        "j2aaaaaaaaaaaaaa",
        "j3aaaaaaaaaaaaaa",
        "j4aaaaaaaaaaaaaa",
      ];
      await insertJobs(other.db, [
        job({ rapId: j1 }),
        job({ rapId: j2 }),
        job({ rapId: j3, backend: "test1" }),
        job({ rapId: j4, backend: "test1" }),
      ]);
      const body = (await other.post("/rap/status/", { rap_ids: [j1, j3, "unknown123456789"] })).json as {
        jobs: { rap_id: string }[];
        unrecognised_rap_ids: string[];
      };
      expect(body.jobs.map((j) => j.rap_id)).toEqual([j1]);
      expect(new Set(body.unrecognised_rap_ids)).toEqual(new Set([j3, "unknown123456789"]));
    } finally {
      await other.close();
    }
  });

  test("S116: several RAPs in one call give one flat list, each job with its rap_id", async () => {
    const Y = "zyxwvuts98765432";
    await insertJobs(api.db, [job(), job({ action: "analyse" }), job({ rapId: Y })]);
    const body = await status([X, Y]);
    expect(body.jobs.map((j) => `${j.rap_id}/${j.action}`).sort()).toEqual([
      `${X}/analyse`,
      `${X}/generate_dataset`,
      `${Y}/generate_dataset`,
    ]);
    expect(body.unrecognised_rap_ids).toEqual([]);
  });

  test("S117: a repeated rap id gives each job once, and is unrecognised at most once", async () => {
    await insertJobs(api.db, [job()]);
    expect((await status([X, X])).jobs).toHaveLength(1);
    expect((await status(["hgfedca987654321", "hgfedca987654321"])).unrecognised_rap_ids).toEqual([
      "hgfedca987654321",
    ]);
  });

  test("S121: status has no side effects", async () => {
    await insertJobs(api.db, [job()]);
    const first = await status([X]);
    expect(await status([X])).toEqual(first);
    const row = await api.db
      .selectFrom("job")
      .select(["updated_at", "status_code"])
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ updated_at: T, status_code: "created" });
  });
});

describe("metrics", () => {
  const id = deterministicJobId(X, "generate_dataset");

  test("S118: metrics come from the latest RUNJOB task's job_metrics, at once (seeded task and agent update)", async () => {
    await insertJobs(api.db, [job()]);
    await runJobTask(api.db, id, 1, { job_metrics: { test: 0.0 } });
    expect((await status([X])).jobs[0]!.metrics).toEqual({ test: 0 });
  });

  test("S118: no task, no results or no job_metrics → {}", async () => {
    await insertJobs(api.db, [job()]);
    expect((await status([X])).jobs[0]!.metrics).toEqual({});
    await runJobTask(api.db, id, 1, null);
    expect((await status([X])).jobs[0]!.metrics).toEqual({});
    await recordAgentUpdate(
      api.db,
      "test",
      `${id}-001`,
      { stage: "", results: { other: 1 }, complete: false, timestampNs: null },
      T,
    );
    expect((await status([X])).jobs[0]!.metrics).toEqual({});
  });

  test("S118: only the latest RUNJOB task counts (by task number, not by text), and not CANCELJOB tasks", async () => {
    await insertJobs(api.db, [job()]);
    await runJobTask(api.db, id, 999, { job_metrics: { run: 999 } });
    await runJobTask(api.db, id, 1000, { job_metrics: { run: 1000 } });
    await runJobTask(api.db, id, 2, { job_metrics: { run: 2 } });
    await insertTask(api.db, {
      id: `${id}-1000-cancel`,
      backend: "test",
      type: "canceljob",
      jobId: id,
      definition: {},
      attributes: {},
      createdAt: T,
    });
    await recordAgentUpdate(
      api.db,
      "test",
      `${id}-1000-cancel`,
      { stage: "", results: { job_metrics: { cancel: true } }, complete: true, timestampNs: null },
      T,
    );
    expect((await status([X])).jobs[0]!.metrics).toEqual({ run: 1000 });
  });

  test("each update replaces the results: metrics follow the last one", async () => {
    await insertJobs(api.db, [job()]);
    await runJobTask(api.db, id, 1, { job_metrics: { cpu_peak: 12.5 } });
    await recordAgentUpdate(
      api.db,
      "test",
      `${id}-001`,
      { stage: "executed", results: {}, complete: false, timestampNs: null },
      T,
    );
    expect((await status([X])).jobs[0]!.metrics).toEqual({});
  });
});

describe("escaping", () => {
  test("a job's text is escaped as json.dumps does: non-ASCII and DEL, even in a job that is otherwise ASCII", async () => {
    await insertJobs(api.database.db, [
      job({ action: "del", statusMessage: "bell \u007f rings" }),
      job({ action: "accent", statusMessage: "café" }),
      job({ action: "plain", statusMessage: "plain" }),
    ]);
    const answer = await api.post("/rap/status/", { rap_ids: [X] });
    expect(answer.body).toContain('"status_message":"bell \\u007f rings"');
    expect(answer.body).toContain('"status_message":"caf\\u00e9"');
    expect(answer.body).not.toMatch(/[^\x20-\x7e]/);
    const jobs = (answer.json as { jobs: { action: string; status_message: string }[] }).jobs;
    expect(jobs.map((j) => [j.action, j.status_message])).toEqual([
      ["del", "bell \u007f rings"],
      ["accent", "café"],
      ["plain", "plain"],
    ]);
  });
});

describe("cost", () => {
  test("DESIGN DECISIONS 11: the number of queries does not grow with the number of jobs", async () => {
    let queries = 0;
    const counter: KyselyPlugin = {
      transformQuery: (args) => {
        queries++;
        return args.node;
      },
      transformResult: async (args) => args.result,
    };
    const counted = await startApi(undefined, { plugin: counter });
    try {
      const rapIds = Array.from({ length: 100 }, (_, i) => `rap${String(i).padStart(13, "0")}`);
      const jobs = rapIds.flatMap((rapId) =>
        Array.from({ length: 10 }, (_, n) => job({ rapId, action: `a${n}` })),
      );
      await insertJobs(counted.database.db, jobs);
      for (const j of jobs.slice(0, 300))
        await runJobTask(counted.database.db, j.id, 1, { job_metrics: { n: 1 } });

      // The first request of a process has no task writes to look back on (src/db/status/cached-reader.ts).
      await counted.post("/rap/status/", { rap_ids: ["unknownrap000000"] });
      queries = 0;
      await counted.post("/rap/status/", { rap_ids: [rapIds[0]] });
      const forOneRap = queries;
      queries = 0;
      const all = await counted.post("/rap/status/", { rap_ids: rapIds });
      expect((all.json as { jobs: unknown[] }).jobs).toHaveLength(1000);
      expect(queries).toBe(forOneRap);
      // The change mark, the tasks written since the last, the stamps, and the jobs not kept rendered.
      expect(queries).toBe(4);
      queries = 0;
      const again = await counted.post("/rap/status/", { rap_ids: rapIds });
      expect(again.body).toBe(all.body);
      // Nothing written since: every job kept, nothing rendered. On PostgreSQL the change mark stays behind any
      // transaction open on the server (another test's too), so the tasks written above may be read again and
      // their jobs rendered again: one query more, never a stale answer (src/db/storage.ts ChangeFeed).
      if (testDatabaseIsPostgres()) expect(queries).toBeOneOf([3, 4]);
      else expect(queries).toBe(3);
    } finally {
      await counted.close();
    }
  });
});
