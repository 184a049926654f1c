/**
 * The jobs of large `POST rap/status/` answers printed by worker threads (src/db/sqlite/status-workers.ts), each with
 * its own connection to the database file: the answer must be byte for byte what the main thread alone would give.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import { insertJobs } from "../../src/db/queries/jobs.js";
import { insertTask, recordAgentUpdate } from "../../src/db/queries/tasks.js";
import { sqliteStatusSource } from "../../src/db/sqlite/status-source.js";
import { StatusWorkers } from "../../src/db/sqlite/status-workers.js";
import { cachedStatusReader } from "../../src/db/status/cached-reader.js";
import type { RenderedJobs } from "../../src/db/storage.js";
import { runJobTaskId } from "../../src/domain/task.js";
import { API, appOn, CFG_A, H } from "../http/support.js";
import { openTestDb, type TestDatabase } from "../support/db.js";
import { makeJob } from "../support/factories.js";

const config = loadConfig({ ...CFG_A, BACKENDS: "test,other" });
let database: TestDatabase;
// 1,200 jobs: enough for a request for all of them to be divided (src/db/status/divide.ts DIVIDE_FROM_JOBS).
const rapIds = Array.from({ length: 400 }, (_, i) => `wrk${String(i * 7919).padStart(13, "0")}`);
/** Three RAPs of 400 jobs each, beside the others. */
const largeRaps = ["big0000000000001", "big0000000000002", "big0000000000003"];

beforeAll(async () => {
  database = await openTestDb("sqlite");
  const jobs = rapIds.flatMap((rapId, r) =>
    ["c", "a", "b"].map((action, n) =>
      makeJob({
        rapId,
        action,
        backend: r % 17 === 0 ? "other" : "test",
        statusMessage: r === 5 ? "non-ASCII é 😀" : "Running",
        createdAt: 1_700_000_000 + r,
        updatedAt: 1_700_000_100 + n,
        completedAt: n === 2 ? null : 1_700_000_200,
      }),
    ),
  );
  await insertJobs(database.db, jobs);
  await insertJobs(
    database.db,
    largeRaps.flatMap((rapId) =>
      Array.from({ length: 400 }, (_, n) =>
        makeJob({ rapId, action: `step_${n}`, createdAt: 1_700_000_000 }),
      ),
    ),
  );
  for (const job of jobs.filter((_, i) => i % 5 === 0)) {
    const id = runJobTaskId(job.id, 1);
    await insertTask(database.db, {
      id,
      backend: job.backend,
      type: "runjob",
      jobId: job.id,
      definition: {},
      attributes: {},
      createdAt: 1,
    });
    const results = { job_metrics: { cpu_peak: 12.5 } };
    await recordAgentUpdate(
      database.db,
      "test",
      id,
      { stage: "finalized", results, complete: true, timestampNs: null },
      2,
    );
  }
});
afterAll(async () => database.close());

async function askWith(statusWorkers: number, body: unknown) {
  const { app, close } = await appOn(database.db, database, config, { statusWorkers });
  try {
    const response = await app.inject({
      method: "POST",
      url: `${API}/rap/status/`,
      headers: H,
      payload: JSON.stringify(body),
    });
    return { status: response.statusCode, body: response.body };
  } finally {
    await close();
  }
}

describe("status workers", () => {
  test("give byte for byte the main thread's answer, whatever the request's order and repeats", async () => {
    const asked = [...rapIds].reverse().concat(["unknownrap000001", rapIds[3]!, "unknownrap000000"]);
    const alone = await askWith(0, { rap_ids: asked });
    expect(alone.status).toBe(200);
    for (const workers of [1, 2, 3]) expect(await askWith(workers, { rap_ids: asked })).toEqual(alone);

    const body = JSON.parse(alone.body) as {
      jobs: { rap_id: string; action: string }[];
      unrecognised_rap_ids: string[];
    };
    const visible = rapIds.filter((_, r) => r % 17 !== 0);
    // By rap id, then in creation order (c, a, b), however the work was divided.
    expect(body.jobs.map((job) => job.rap_id)).toEqual([...visible].sort().flatMap((id) => [id, id, id]));
    expect(body.jobs.map((job) => job.action)).toEqual(visible.flatMap(() => ["c", "a", "b"]));
    // Once each, in request order: the RAPs on the other backend (asked in reverse), then the unknown ones.
    const hidden = rapIds.filter((_, r) => r % 17 === 0).reverse();
    expect(body.unrecognised_rap_ids).toEqual([...hidden, "unknownrap000001", "unknownrap000000"]);
    expect(alone.body).toContain("non-ASCII \\u00e9 \\ud83d\\ude00");
    expect(alone.body).toContain('"metrics":{"cpu_peak":12.5}');
  }, 90_000);

  test("a large render is divided between the workers in runs of as many jobs, bytes unchanged", async () => {
    const shares: number[] = [];
    // The real pool, watched: how many jobs each worker is given.
    class Watched extends StatusWorkers {
      override print(index: number, ids: readonly string[]) {
        shares.push(ids.length);
        return super.print(index, ids);
      }
    }
    const pool = new Watched(database.file!, 2);
    const reader = (workers?: StatusWorkers) => cachedStatusReader(sqliteStatusSource(database.db, workers));
    try {
      const divided = await reader(pool).read(largeRaps, ["test"]);
      expect(shares).toEqual([600, 600]);
      const alone = await reader().read(largeRaps, ["test"]);
      const text = (parts: RenderedJobs[]) =>
        parts.map((part) => Buffer.from(part.json).toString()).join(",");
      expect(divided.flatMap((part) => part.rapIds)).toEqual(largeRaps);
      expect(text(divided)).toBe(text(alone));
      expect(text(alone)).toContain('"action":"step_399"');
      // A small request stays on the calling thread.
      shares.length = 0;
      await reader(pool).read(rapIds.slice(0, 10), ["test"]);
      expect(shares).toEqual([]);
    } finally {
      await pool.close();
    }
  }, 90_000);

  test("an error in a worker reaches the caller with its message", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rap-workers-"));
    const pool = new StatusWorkers(join(dir, "never-migrated.sqlite"), 1);
    try {
      await expect(pool.print(0, ["x"])).rejects.toThrow(/^status worker: .*no such table: job/);
    } finally {
      await pool.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a closed pool starts its workers again when asked", async () => {
    const pool = new StatusWorkers(database.file!, 2);
    const keys = (
      await database.db.selectFrom("job").select("seq").where("rap_id", "=", rapIds[1]!).execute()
    ).map((row) => String(row.seq));
    try {
      const first = await pool.print(0, keys);
      expect([...first.keys].sort()).toEqual([...keys].sort());
      await pool.close();
      expect(await pool.print(1, keys)).toEqual(first);
    } finally {
      await pool.close();
    }
  });
});
