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
import { readStamps, renderBatch } from "../../src/db/sqlite/rap-status.js";
import { printJobs } from "../../src/db/status/rendered-jobs.js";
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

  test("stamps by RAP in the order of a plain scan, backends filtered; chosen jobs rendered with their stamps and metrics", async () => {
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
    const rows = await db.selectFrom("job").select(["id", "seq", "change_seq"]).execute();
    const keyOf = new Map(rows.map((row) => [row.id, String(row.seq)]));
    const stampOf = new Map(rows.map((row) => [String(row.seq), String(row.change_seq)]));
    const idOf = new Map(rows.map((row) => [String(row.seq), row.id]));
    const raps = await readStamps(db, [...jobs.map((j) => j.rapId), "rapccccccccccccc"], ["test"]);
    // By rap id, each RAP's jobs in insertion order, by key (seq); RAPs without jobs on the backends not at all.
    expect(raps.map((rap) => rap.rapId)).toEqual(["rapaaaaaaaaaaaaa", "rapbbbbbbbbbbbbb"]);
    expect(raps.flatMap((rap) => rap.keys)).toEqual(
      [...jobs.slice(3), ...jobs.slice(0, 3)].map((j) => keyOf.get(j.id)),
    );
    expect(raps.flatMap((rap) => rap.stamps)).toEqual(
      raps.flatMap((rap) => rap.keys.map((key) => stampOf.get(key))),
    );

    const ids = jobs.map((j) => j.id);
    const keys = ids.map((id) => keyOf.get(id)!);
    const batch = await renderBatch(db, keys);
    expect(batch.times.split(",")).toHaveLength(4 * ids.length);
    expect(batch.times.split(",").slice(0, 4)).toEqual(["1700000000", "1700000001", "null", "null"]);
    const result = printJobs(batch);
    if (!("printed" in result)) throw new Error("not printed");
    const { json, keys: printedKeys, stamps } = result.printed;
    // In the order the database finds them, each with its own stamp.
    expect([...printedKeys].sort()).toEqual([...keys].sort());
    expect(stamps).toEqual(printedKeys.map((key) => stampOf.get(key)));
    const parsed = JSON.parse(`[${Buffer.from(json).toString().slice(0, -1)}]`) as {
      identifier: string;
      metrics: unknown;
    }[];
    expect(parsed.map((j) => j.identifier)).toEqual(printedKeys.map((key) => idOf.get(key)));
    const metrics = new Map(parsed.map((j) => [j.identifier, j.metrics]));
    expect(metrics.get(ids[0]!)).toEqual({ cpu: 1.5 });
    expect(metrics.get(ids[1]!)).toEqual({});
  });
});
