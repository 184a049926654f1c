/**
 * The hot read paths: compiled queries run on the connection without Kysely (`readDirectly`), and the rap status
 * query that writes jobs as JSON in the database. Both must give exactly what the plain Kysely path gives.
 */
import { type KyselyPlugin, sql } from "kysely";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { changeStamp, type Db, openDatabase, readDirectly } from "../../src/db/index.js";
import { setFlag } from "../../src/db/queries/flags.js";
import { insertJobs } from "../../src/db/queries/jobs.js";
import { insertTask, recordAgentUpdate } from "../../src/db/queries/tasks.js";
import { jobStatusBatches } from "../../src/db/sqlite/rap-status.js";
import { openTestDatabase } from "../support/db.js";
import { makeJob } from "../support/factories.js";

let db: Db;
let path: string;
let close: () => Promise<void>;
beforeEach(async () => {
  ({ db, path, close } = await openTestDatabase());
});
afterEach(async () => close());

const flagsQuery = (db: Db) => db.selectFrom("flags").selectAll().orderBy("backend").compile();

describe("readDirectly", () => {
  test("gives the rows Kysely gives", async () => {
    await setFlag(db, "test", "paused", "true", 1000.5);
    await setFlag(db, "tpp", "mode", null, 1001);
    const query = flagsQuery(db);
    const direct = readDirectly(db, query);
    expect(direct).toEqual((await db.executeQuery(query)).rows);
    expect(direct).toEqual([
      { id: "paused", backend: "test", value: "true", timestamp: 1000.5 },
      { id: "mode", backend: "tpp", value: null, timestamp: 1001 },
    ]);
  });

  test("defers to Kysely inside a transaction, so no uncommitted write is ever read", async () => {
    await setFlag(db, "test", "paused", "true", 1000);
    let inside: unknown = "not run";
    await db.transaction().execute(async (trx) => {
      await setFlag(trx, "test", "paused", "false", 2000);
      inside = readDirectly(db, flagsQuery(db));
    });
    expect(inside).toBeUndefined();
    expect(readDirectly(db, flagsQuery(db))).toMatchObject([{ value: "false" }]);
  });

  test("is not available on a Db that is not the one openDatabase made (plugins, transactions)", async () => {
    const noop: KyselyPlugin = {
      transformQuery: (args) => args.node,
      transformResult: async (args) => args.result,
    };
    expect(readDirectly(db.withPlugin(noop), flagsQuery(db))).toBeUndefined();
    await db.transaction().execute(async (trx) => {
      expect(readDirectly(trx, flagsQuery(db))).toBeUndefined();
    });
  });

  test("is not available once the database is closed", async () => {
    const query = flagsQuery(db);
    await db.destroy();
    expect(readDirectly(db, query)).toBeUndefined();
  });
});

describe("changeStamp", () => {
  test("stays the same while nothing changes, and changes with any write through this connection", async () => {
    const first = changeStamp(db);
    expect(first).toBeDefined();
    await db.selectFrom("flags").selectAll().execute();
    expect(changeStamp(db)).toBe(first);
    await setFlag(db, "test", "paused", "true", 1000);
    const second = changeStamp(db);
    expect(second).not.toBe(first);
    await db.deleteFrom("flags").where("backend", "=", "nowhere").execute();
    expect(changeStamp(db)).toBe(second);
  });

  test("changes when another connection (another process) commits", async () => {
    const first = changeStamp(db);
    const other = await openDatabase({ dialect: "sqlite", path });
    try {
      await setFlag(other, "test", "paused", "true", 1000);
    } finally {
      await other.destroy();
    }
    expect(changeStamp(db)).not.toBe(first);
  });

  test("is unknown inside a transaction, and on a Db that is not the one openDatabase made", async () => {
    await db.transaction().execute(async (trx) => {
      await setFlag(trx, "test", "paused", "true", 1000);
      expect(changeStamp(db)).toBeUndefined();
      expect(changeStamp(trx)).toBeUndefined();
    });
    expect(changeStamp(db)).toBeDefined();
  });
});

describe("rap status query", () => {
  test("the latest metrics come from the index alone (migration 0002), not from task rows", async () => {
    const plan = await sql<{ detail: string }>`explain query plan
      select (select t.agent_results -> '$.job_metrics' from tasks t
        where t.job_id = job.id and t.type = 'runjob' order by length(t.id) desc, t.id desc limit 1)
      from job where job.rap_id in ('a', 'b')`.execute(db);
    expect(plan.rows.map((r) => r.detail)).toContain(
      "SEARCH t USING COVERING INDEX idx_tasks__latest_metrics (job_id=? AND type=?)",
    );
  });

  test("one row per RAP, jobs in the order of a plain scan, rap ids once each, backends filtered", async () => {
    const jobs = ["rapbbbbbbbbbbbbb", "rapaaaaaaaaaaaaa"].flatMap((rapId) =>
      ["z", "a", "m"].map((action) =>
        makeJob({ rapId, action, createdAt: 1700000000, updatedAt: 1700000001 }),
      ),
    );
    await insertJobs(db, [...jobs, makeJob({ rapId: "rapccccccccccccc", backend: "tpp" })]);
    await insertTask(db, {
      id: `${jobs[0]!.id}-001`,
      backend: "test",
      type: "runjob",
      jobId: jobs[0]!.id,
      definition: {},
      attributes: {},
      createdAt: 1,
    });
    await recordAgentUpdate(
      db,
      "test",
      `${jobs[0]!.id}-001`,
      { stage: "executing", results: { job_metrics: { cpu: 1.5 } }, complete: false, timestampNs: null },
      1,
    );
    const batches = [];
    for await (const batch of jobStatusBatches(
      db,
      [...jobs.map((j) => j.rapId), "rapccccccccccccc"],
      ["test"],
    ))
      batches.push(batch);
    expect(batches).toHaveLength(1);
    const [batch] = batches;
    expect(batch!.rapIds).toEqual(["rapaaaaaaaaaaaaa", "rapbbbbbbbbbbbbb"]);
    const rows = await batch!.rows();
    const json = batch!.json.map((part) => part.toString("utf8")).join(",");
    const parsed = JSON.parse(`[${json.replaceAll("\u0001", "0")}]`) as {
      identifier: string;
      metrics: unknown;
    }[];
    expect(parsed.map((j) => j.identifier)).toEqual(
      rows.map((r) => JSON.parse(r.json.replace("\u0001", "0")).identifier),
    );
    expect(parsed.find((j) => j.identifier === jobs[0]!.id)!.metrics).toEqual({ cpu: 1.5 });
    expect(batch!.times.split(",")).toHaveLength(4 * rows.length);
    expect(batch!.times.split(",").slice(0, 4)).toEqual(["1700000000", "1700000001", "null", "null"]);
  });
});
