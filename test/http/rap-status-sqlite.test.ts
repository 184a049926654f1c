/**
 * SQLite's rap/status SQL (src/db/sqlite/rap-status.ts) against an independent writer reading the rows one by one,
 * and SQLite's own leeway: a time column holding a fraction of a second (PostgreSQL's bigint columns cannot). The
 * same bytes on PostgreSQL are checked against SQLite's by test/db/storage-conformance.ts.
 */
import { sql } from "kysely";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import type { Db } from "../../src/db/index.js";
import { insertJobs } from "../../src/db/queries/jobs.js";
import { renderBatch } from "../../src/db/sqlite/rap-status.js";
import { printJobs } from "../../src/db/status/rendered-jobs.js";
import { statusBody } from "../../src/http/status/body.js";
import { asciiJson } from "../../src/python/ascii-json.js";
import { isoFromUnixSeconds } from "../../src/python/datetime.js";
import { job, runJobTask, T, X } from "./status-fixtures.js";
import { startApi, type TestApi } from "./support.js";

let api: TestApi;
beforeEach(async () => {
  api = await startApi();
});
afterEach(async () => {
  await api.close();
});

/** The keys SQLite's status source finds jobs by (their seq), in insertion order. */
async function keysOf(db: Db, rapIds: readonly string[]): Promise<string[]> {
  const rows = await db
    .selectFrom("job")
    .select("seq")
    .where("rap_id", "in", rapIds)
    .orderBy("seq")
    .execute();
  return rows.map((row) => String(row.seq));
}

describe("jobs written by the database", () => {
  const awkward = `it's "quoted" \\ back\tslash\n é 😀 \u0001 \u007f _at":1,`;

  const iso = (seconds: number | null) => (seconds === null ? null : isoFromUnixSeconds(seconds));

  /**
   * The body written by a second, independent writer: the jobs' columns read one by one and each job built as a
   * JavaScript object in the reference's key order; JSON columns as stored. RAPs in rap id order, then insertion.
   */
  async function fromRows(db: Db, rapIds: string[], backends: string[]): Promise<string> {
    const unique = [...new Set(rapIds)];
    const rows = await db
      .selectFrom("job")
      .selectAll()
      .where("rap_id", "in", unique)
      .where("backend", "in", backends)
      .orderBy("rap_id")
      .orderBy("seq")
      .execute();
    const jobs: string[] = [];
    for (const row of rows) {
      const task = await db
        .selectFrom("tasks")
        .select(sql<string | null>`agent_results -> '$.job_metrics'`.as("metrics"))
        .where("job_id", "=", row.id)
        .orderBy(sql`length(id)`, "desc")
        .orderBy("id", "desc")
        .executeTakeFirst();
      const head = JSON.stringify({
        identifier: row.id,
        rap_id: row.rap_id,
        backend: row.backend,
        action: row.action,
        run_command: row.run_command,
        status: row.state,
        status_code: row.status_code,
        status_message: row.status_message ?? "",
        created_at: iso(row.created_at),
        updated_at: iso(row.updated_at),
        started_at: iso(row.started_at),
        completed_at: iso(row.completed_at),
      });
      jobs.push(
        `${head.slice(0, -1)},"trace_context":${row.trace_context ?? "null"},"metrics":${task?.metrics ?? "{}"}` +
          `,"requires_db":${row.requires_db ? "true" : "false"}}`,
      );
    }
    const seen = new Set(rows.map((row) => row.rap_id));
    const unrecognised = unique.filter((id) => !seen.has(id));
    return statusBody([Buffer.from(asciiJson(jobs.join(",")), "latin1")], unrecognised).toString("latin1");
  }

  test("give byte for byte the body the rows give, across RAPs, batches and awkward values", async () => {
    const rapIds = Array.from({ length: 130 }, (_, i) => `rapfmt${String(i).padStart(10, "0")}`);
    const jobs = rapIds.flatMap((rapId, r) =>
      ["b", "a", "c"].map((action, n) =>
        job({
          rapId,
          action: r === 7 ? `${action} ${awkward}` : action,
          statusMessage: n === 1 ? null : r === 3 ? awkward : "Running",
          runCommand: `python:v2 ${r === 5 ? awkward : "x.py"}`,
          traceContext: n === 2 ? null : { traceparent: `00-${r}-${awkward}` },
          requiresDb: n === 0,
          createdAt: 0,
          updatedAt: T + r,
          startedAt: n === 1 ? null : 253402300799,
          completedAt: n === 2 ? T + 1 : null,
          backend: r === 9 ? "other" : "test",
        }),
      ),
    );
    await insertJobs(api.db, jobs);
    for (const [i, j] of jobs.entries()) {
      if (i % 4 === 0)
        await runJobTask(api.db, j.id, 1, { job_metrics: { cpu: i / 3, name: awkward, n: null } });
      if (i % 4 === 1) await runJobTask(api.db, j.id, 1, { job_metrics: null });
      if (i % 4 === 2) await runJobTask(api.db, j.id, 1, { other: 1 });
    }
    const asked = [...rapIds, "unknownrap000000", rapIds[0]!];
    const answer = await api.post("/rap/status/", { rap_ids: asked });
    expect(answer.status).toBe(200);
    expect(answer.body).toBe(await fromRows(api.db, asked, ["test"]));
    const body = answer.json as { jobs: { rap_id: string }[]; unrecognised_rap_ids: string[] };
    expect(body.jobs).toHaveLength(129 * 3);
    expect(body.unrecognised_rap_ids).toEqual([rapIds[9], "unknownrap000000"]);
    // …and it was the database's JSON, not the rows, that was used.
    expect(printJobs(await renderBatch(api.db, await keysOf(api.db, rapIds)))).toHaveProperty("printed");
  });

  test("a time that is not whole seconds is printed as before, from the rows", async () => {
    await insertJobs(api.db, [
      job({ createdAt: T + 0.25, startedAt: -86400.5 }),
      job({ rapId: "rapwhole00000000", createdAt: T }),
    ]);
    const answer = await api.post("/rap/status/", { rap_ids: [X, "rapwhole00000000"] });
    expect(answer.body).toBe(await fromRows(api.db, [X, "rapwhole00000000"], ["test"]));
    const jobs = (answer.json as { jobs: Record<string, unknown>[] }).jobs;
    expect(jobs.find((j) => j.rap_id === X)).toMatchObject({
      created_at: "2023-11-14T22:13:20.250000Z",
      started_at: "1969-12-30T23:59:59.500000Z",
    });
    expect(jobs.find((j) => j.rap_id === "rapwhole00000000")).toMatchObject({
      created_at: "2023-11-14T22:13:20Z",
    });
    const keys = await keysOf(api.db, [X]);
    expect(printJobs(await renderBatch(api.db, keys))).toEqual({ inexact: keys });
  });
});
