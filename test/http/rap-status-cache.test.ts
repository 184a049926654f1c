/**
 * rap/status keeps jobs' printed JSON between requests (src/db/status/cached-reader.ts): every answer must be what a
 * reader that keeps nothing gives, whoever wrote what in between, on either database (this file runs in both test
 * projects). A reader with nothing kept is a new storage's.
 */
import { sql } from "kysely";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { postgresStatusSource } from "../../src/db/postgres/status-source.js";
import { sqliteStatusSource } from "../../src/db/sqlite/status-source.js";
import { cachedStatusReader, type StatusSource } from "../../src/db/status/cached-reader.js";
import { RenderedJobCache } from "../../src/db/status/job-cache.js";
import type { Storage } from "../../src/db/storage.js";
import { StatusCode } from "../../src/domain/status.js";
import { runJobTaskId } from "../../src/domain/task.js";
import { openTestDb, type TestDatabase } from "../support/db.js";
import { makeJob, makeRunJobTask } from "../support/factories.js";

const RAPS = ["rapcache00000001", "rapcache00000002"];
let database: TestDatabase;
let storage: Storage & { closeReaders(): Promise<void> };

beforeEach(async () => {
  database = await openTestDb();
  storage = database.storageOn(database.db);
  const jobs = RAPS.flatMap((rapId) =>
    ["b", "a", "c"].map((action) => makeJob({ rapId, action, createdAt: 1_700_000_000 })),
  );
  await storage.jobs.insert(jobs);
  for (const job of jobs) await storage.tasks.insert(makeRunJobTask(job.id));
});
afterEach(async () => {
  await storage.closeReaders();
  await database.close();
});

const text = async (reader: Pick<Storage["status"], "read">) =>
  (await reader.read(RAPS, ["test"])).map((part) => Buffer.from(part.json).toString()).join(",");

/** What a reader that keeps nothing answers now. */
async function uncached(): Promise<string> {
  const fresh = database.storageOn(database.db);
  try {
    return await text(fresh.status);
  } finally {
    await fresh.closeReaders();
  }
}

/** A RAP's jobs, in creation order. */
async function jobsOf(rapId = RAPS[0]!) {
  return (await storage.jobs.list({ rapId, limit: 100 })).reverse();
}

async function jobIds(rapId = RAPS[0]!): Promise<string[]> {
  return (await jobsOf(rapId)).map((job) => job.id);
}

/** An agent's report of metrics for the job's task, as the Task API records it (the job's row is not written). */
async function reportMetrics(on: Storage, jobId: string, cpu: number): Promise<void> {
  await on.tasks.recordAgentUpdate(
    "test",
    runJobTaskId(jobId, 1),
    { stage: "executing", results: { job_metrics: { cpu_peak: cpu } }, complete: false, timestampNs: null },
    2,
  );
}

/**
 * What a request rendered. PostgreSQL's change mark stays at the oldest transaction running on the server (another
 * test's, in parallel), so a request there may forget, and render again, jobs whose tasks were written a little
 * before: `also` may come too. SQLite's mark is exact.
 */
function expectRendered(rendered: readonly string[] | undefined, exactly: string[], also: string[]): void {
  if (database.file) return void expect(rendered).toEqual([...exactly].sort());
  expect(rendered).toEqual(expect.arrayContaining(exactly));
  expect(also).toEqual(expect.arrayContaining([...(rendered ?? [])]));
}

function sourceOf(): StatusSource {
  return database.file ? sqliteStatusSource(database.db) : postgresStatusSource(database.db);
}

describe("rap/status's kept jobs", () => {
  test("every answer is a fresh reader's, after writes of job rows, tasks, new jobs and another process", async () => {
    const first = await text(storage.status);
    expect(first).toBe(await uncached());
    expect(await text(storage.status)).toBe(first);

    const [job] = await jobsOf();
    const id = job!.id;
    const expected = { statusCode: job!.statusCode, cancelled: false };
    expect(
      await storage.jobs.applyStatus(id, expected, {
        ...job!,
        statusCode: StatusCode.WaitingOnWorkers,
        statusMessage: "Waiting on available workers",
      }),
    ).toBe(true);
    const afterStatus = await text(storage.status);
    expect(afterStatus).toContain('"status_code":"waiting_on_workers"');
    expect(afterStatus).toBe(await uncached());

    // A task's metrics change without the job's row being written.
    await reportMetrics(storage, id, 42.5);
    const afterMetrics = await text(storage.status);
    expect(afterMetrics).toContain('"metrics":{"cpu_peak":42.5}');
    expect(afterMetrics).toBe(await uncached());

    await storage.jobs.insert([makeJob({ rapId: RAPS[1]!, action: "late", createdAt: 1_700_000_000 })]);
    const afterInsert = await text(storage.status);
    expect(afterInsert).toContain('"action":"late"');
    expect(afterInsert).toBe(await uncached());

    // Another process (a replica, a `rap` command) writes a task and a job row.
    const other = await database.openAnother();
    try {
      const [otherId] = await jobIds(RAPS[1]);
      await reportMetrics(other, otherId!, 7);
      await sql`update job set status_message = 'Written elsewhere' where id = ${id}`.execute(database.db);
    } finally {
      await other.close();
    }
    const afterOther = await text(storage.status);
    expect(afterOther).toContain('"metrics":{"cpu_peak":7}');
    expect(afterOther).toContain('"status_message":"Written elsewhere"');
    expect(afterOther).toBe(await uncached());
  });

  test("jobs already rendered are not rendered again until written; a small budget keeps less, answers the same", async () => {
    const rendered: string[][] = [];
    const source = sourceOf();
    const watched: StatusSource = {
      ...source,
      render: (keys) => {
        rendered.push([...keys].sort());
        return source.render(keys);
      },
    };
    const reader = cachedStatusReader(watched);
    // Jobs by the keys the source finds them by (SQLite's seq, PostgreSQL's id), in creation order.
    const all = (await source.stamps(RAPS, ["test"])).flatMap((rap) => rap.keys);
    expect(all).toHaveLength(6);
    expect(await text(reader)).toBe(await uncached());
    expect(rendered).toEqual([[...all].sort()]);
    await text(reader);
    // Nothing written: nothing rendered (on PostgreSQL, at most some again: see expectRendered).
    if (database.file) expect(rendered).toHaveLength(1);
    else expectRendered(rendered[1] ?? [], [], all);
    rendered.length = 1;
    // The first RAP's first job: its task's metrics are written.
    const [firstRap] = [...RAPS].sort();
    await reportMetrics(storage, (await jobIds(firstRap))[0]!, 3);
    expect(await text(reader)).toBe(await uncached());
    expectRendered(rendered[1], [(await source.stamps([firstRap!], ["test"]))[0]!.keys[0]!], all);

    // A budget of about two jobs: most are rendered on every request, the answer is the same.
    const small = cachedStatusReader(watched, new RenderedJobCache(600));
    expect(await text(small)).toBe(await uncached());
    expect(await text(small)).toBe(await uncached());
  });

  test("a task written while a request renders is shown by the next, whichever request reads what first", async () => {
    // Request A renders, then waits (as if slow) before keeping what it rendered; meanwhile a task is written and
    // request B starts. Were B to look for task writes before A kept its jobs, A would keep a job without the new
    // metrics after B had moved past that write, and every later answer would be stale.
    const source = sourceOf();
    let renderedA!: () => void;
    const aRendered = new Promise<void>((resolve) => {
      renderedA = resolve;
    });
    let releaseA!: () => void;
    const holdA = new Promise<void>((resolve) => {
      releaseA = resolve;
    });
    let first = true;
    const paused: StatusSource = {
      ...source,
      render: async (keys) => {
        const printed = await source.render(keys);
        if (first) {
          first = false;
          renderedA();
          await holdA;
        }
        return printed;
      },
    };
    const reader = cachedStatusReader(paused);
    const [id] = await jobIds();
    const a = text(reader);
    await aRendered;
    await reportMetrics(storage, id!, 99);
    const b = text(reader);
    // Time for B to read the task writes now, were it not waiting for its turn.
    await new Promise((resolve) => setTimeout(resolve, 50));
    releaseA();
    expect(await a).not.toContain('"cpu_peak":99');
    expect(await b).toContain('"metrics":{"cpu_peak":99}');
    expect(await text(reader)).toBe(await uncached());
  });

  test("a database that went back (restored from a copy) drops everything kept", async () => {
    const rendered: number[] = [];
    const source = sourceOf();
    const cache = new RenderedJobCache();
    const reader = cachedStatusReader(
      {
        ...source,
        render: (keys) => {
          rendered.push(keys.length);
          return source.render(keys);
        },
      },
      cache,
    );
    await text(reader);
    expect(rendered).toEqual([6]);
    // As if the database had been numbering writes far beyond where it now is.
    cache.mark = Number.MAX_SAFE_INTEGER;
    expect(await text(reader)).toBe(await uncached());
    expect(rendered).toEqual([6, 6]);
    expect(cache.mark).toBeLessThan(Number.MAX_SAFE_INTEGER);
  });
});
