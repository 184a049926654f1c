/**
 * PostgreSQL storage (src/db/postgres-storage.ts) on a real server: the storage conformance suite, the migrations,
 * and opening it from a configured DATABASE_URL. Skips, naming RAP_TEST_POSTGRES_URL, where no server is given.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import pg from "pg";
import { describe, expect, test } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import { migrateDatabase, openStorage, SnapshotRefusedError, snapshotDatabase } from "../../src/db/open.js";
import { openPostgres } from "../../src/db/postgres/connection.js";
import { postgresStatusSource } from "../../src/db/postgres/status-source.js";
import { PostgresStorage } from "../../src/db/postgres-storage.js";
import { StorageFullError, StorageUnavailableError } from "../../src/db/storage.js";
import { runJobTaskId } from "../../src/domain/task.js";
import { makeJob, makeRunJobTask, rapId } from "../support/factories.js";
import { createTestPostgres, postgresRequirement } from "../support/postgres.js";
import { requires } from "../support/requirements.js";
import { storageConformance } from "./storage-conformance.js";

const available = requires(postgresRequirement());

/** A fresh database, migrated through `rap migrate`'s path, opened as storage. */
async function openTestStorage(options: { statusWorkers?: number } = {}) {
  const database = await createTestPostgres();
  const location = loadConfig({ DATABASE_URL: database.url, WORKDIR: tmpdir() }).database;
  const storage = await openStorage(location, { migrate: true, ...options });
  return {
    storage,
    close: async () => {
      await storage.close();
      await database.drop();
    },
  };
}

describe.skipIf(!available)("PostgreSQL", () => {
  storageConformance("PostgreSQL", () => openTestStorage(), { feedRereads: true });

  test("rap migrate creates the schema once; numbers come back as numbers, seq in insertion order", async () => {
    const database = await createTestPostgres();
    try {
      const location = loadConfig({ DATABASE_URL: database.url, WORKDIR: tmpdir() }).database;
      const first = await migrateDatabase(location);
      expect(first).toEqual({
        created: true,
        applied: [
          "0001_initial",
          "0002_latest_metrics_index",
          "0003_insertion_order",
          "0004_scheduler_lease",
          "0005_task_agent_updated_at",
          "0006_task_job_metrics",
          "0007_change_seq",
        ],
      });
      expect(await migrateDatabase(location)).toEqual({ created: false, applied: [] });
      const storage = new PostgresStorage(openPostgres(database.url));
      try {
        const jobs = ["zzz", "aaa", "mmm"].map((id) => makeJob({ id, statusCodeUpdatedAt: 1.7e18 }));
        await storage.jobs.insert(jobs);
        const { rows } = await sql<{ id: string; seq: number }>`select id, seq from job order by seq`.execute(
          storage.db,
        );
        expect(rows).toEqual([
          { id: "zzz", seq: 1 },
          { id: "aaa", seq: 2 },
          { id: "mmm", seq: 3 },
        ]);
        expect((await storage.jobs.get("zzz"))?.statusCodeUpdatedAt).toBe(1.7e18);
        expect((await storage.jobs.active()).map((job) => job.id)).toEqual(["zzz", "aaa", "mmm"]);
      } finally {
        await storage.close();
      }
    } finally {
      await database.drop();
    }
  });

  test("rap snapshot-db on PostgreSQL says to use pg_dump", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rap-pg-snapshot-"));
    try {
      const location = loadConfig({
        DATABASE_URL: "postgresql://rap@127.0.0.1:1/rap",
        WORKDIR: dir,
      }).database;
      const target = join(dir, "copy");
      const refused = snapshotDatabase(location, target);
      await expect(refused).rejects.toThrow(SnapshotRefusedError);
      await expect(refused).rejects.toThrow(
        `rap snapshot-db copies an SQLite database; this one is PostgreSQL: take a consistent copy with pg_dump ` +
          `(pg_dump --format=custom --file=${target} "$DATABASE_URL")`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the workspace lock is per workspace: a create elsewhere does not wait for it", async () => {
    const { storage, close } = await openTestStorage();
    try {
      let releaseFirst!: () => void;
      const held = new Promise<void>((resolve) => {
        releaseFirst = resolve;
      });
      const first = storage.withWorkspaceLock("test", "one", () => held);
      // Another workspace's create completes while the first still holds its lock.
      await storage.withWorkspaceLock("test", "two", async ({ jobs }) => {
        await jobs.insert([makeJob({ workspace: "two" })]);
      });
      releaseFirst();
      await first;
      expect(await storage.jobs.workspaceState("test", "two")).toHaveLength(1);
    } finally {
      await close();
    }
  });

  test("a connection the server ends, or one it refuses, is a StorageUnavailableError; the pool opens another", async () => {
    const { storage, close } = await openTestStorage();
    try {
      // The server ending a transaction's session (as a restart, a failover or pg_terminate_backend does).
      const ended = storage.transaction(async ({ jobs }) => {
        await jobs.list({ limit: 1 });
        await sql`select pg_terminate_backend(pid) from pg_stat_activity
          where datname = current_database() and state = 'idle in transaction'`.execute(
          (storage as PostgresStorage).db,
        );
        await jobs.insert([makeJob()]);
      });
      await expect(ended).rejects.toThrow(StorageUnavailableError);
      await expect(ended).rejects.toThrow("the database could not be reached: ");
      expect(await storage.jobs.list({ limit: 1 })).toEqual([]);
    } finally {
      await close();
    }
    const unreachable = new PostgresStorage(openPostgres("postgres://rap@127.0.0.1:1/rap"));
    try {
      await expect(unreachable.jobs.list({ limit: 1 })).rejects.toThrow(StorageUnavailableError);
    } finally {
      await unreachable.close();
    }
  });

  test("the server's disk_full error is a StorageFullError, in a transaction or not", async () => {
    const { storage, close } = await openTestStorage();
    try {
      // What PostgreSQL says when it cannot extend a file (SQLSTATE 53100), raised by the server itself.
      await sql`create function refuse_for_full_disk() returns trigger language plpgsql as $$
        begin raise exception 'could not extend file: No space left on device' using errcode = 'disk_full'; end $$`.execute(
        (storage as PostgresStorage).db,
      );
      await sql`create trigger full_disk before insert on job for each row execute function refuse_for_full_disk()`.execute(
        (storage as PostgresStorage).db,
      );
      await expect(storage.jobs.insert([makeJob()])).rejects.toThrow(StorageFullError);
      await expect(storage.transaction(({ jobs }) => jobs.insert([makeJob()]))).rejects.toThrow(
        "the database's disk is full: could not extend file: No space left on device",
      );
      // The connections stay usable.
      expect(await storage.jobs.list({ limit: 1 })).toEqual([]);
    } finally {
      await close();
    }
  });

  test("rap/status divided between statements answers the same bytes, metrics written by anyone included", async () => {
    const { storage, close } = await openTestStorage();
    try {
      const db = (storage as PostgresStorage).db;
      const raps = Array.from({ length: 5 }, () => rapId()).sort();
      // 15 jobs: divided into three runs of five.
      const jobs = raps.flatMap((rap, r) =>
        Array.from({ length: r + 1 }, (_, n) => makeJob({ rapId: rap, action: `action_${n}` })),
      );
      await storage.jobs.insert(jobs);
      for (const [n, job] of jobs.entries()) {
        const id = runJobTaskId(job.id, 1);
        await storage.tasks.insert(makeRunJobTask(job.id));
        // As a replica of an older version writes them: the server fills the metrics column (migration 0006).
        await sql`update tasks set agent_results = ${`{"job_metrics": {"cpu_peak": ${n}}}`} where id = ${id}`.execute(
          db,
        );
      }
      const ids = jobs.map((job) => job.id);
      const parts = await postgresStatusSource(db, 3, 1).render(ids);
      expect(parts.map((part) => part.keys)).toEqual([ids.slice(0, 5), ids.slice(5, 10), ids.slice(10)]);
      const [whole] = await postgresStatusSource(db, 3, 16).render(ids);
      expect(whole!.keys).toEqual(ids);
      const joined = parts.map((part) => Buffer.from(part.json).toString()).join("");
      expect(joined).toBe(Buffer.from(whole!.json).toString());
      expect(joined.match(/"metrics":\{[^}]*\}/g)).toEqual(
        jobs.map((_, n) => `"metrics":{"cpu_peak": ${n}}`),
      );
    } finally {
      await close();
    }
  });

  test("a connection the server ends while it waits in the pool neither crashes the process nor fails the next query", async () => {
    const database = await createTestPostgres();
    const storage = await openStorage(
      loadConfig({ DATABASE_URL: database.url, WORKDIR: tmpdir() }).database,
      { migrate: true },
    );
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      await storage.flags.all();
      // What a server restart, an operator's pg_terminate_backend or a cut network does to an idle connection.
      const ended = await admin.query(
        "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()",
      );
      expect(ended.rowCount).toBeGreaterThan(0);
      // The pool hears of it (the server's FATAL, then the socket's end) between queries: wait until it has.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await storage.flags.all()).toEqual([]);
    } finally {
      await admin.end();
      await storage.close();
      await database.drop();
    }
  });
});
