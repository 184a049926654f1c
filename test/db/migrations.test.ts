import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Kysely, Migrator, sql } from "kysely";
import { afterEach, describe, expect, test } from "vitest";
import { migrateToLatest, openDatabase, pendingMigrations } from "../../src/db/index.js";
import * as initial from "../../src/db/migrations/0001_initial.js";
import * as latestMetricsIndex from "../../src/db/migrations/0002_latest_metrics_index.js";
import { insertJobs } from "../../src/db/queries/jobs.js";
import { insertTask } from "../../src/db/queries/tasks.js";
import { makeJob } from "../support/factories.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempPath(): string {
  const dir = mkdtempSync(join(tmpdir(), "rap-migrate-"));
  dirs.push(dir);
  return join(dir, "nested", "db.sqlite");
}

describe("migrations", () => {
  test("create every table with the reference's columns, then are idempotent", async () => {
    const db = await openDatabase({ dialect: "sqlite", path: tempPath() });
    const all = [
      "0001_initial",
      "0002_latest_metrics_index",
      "0003_insertion_order",
      "0004_scheduler_lease",
      "0005_task_agent_updated_at",
      "0006_task_job_metrics",
      "0007_change_seq",
    ];
    expect(await pendingMigrations(db, "sqlite")).toEqual(all);
    expect(await migrateToLatest(db, "sqlite")).toEqual(all);
    expect(await migrateToLatest(db, "sqlite")).toEqual([]);
    expect(await pendingMigrations(db, "sqlite")).toEqual([]);

    const columns = async (table: string) =>
      (await sql<{ name: string }>`select name from pragma_table_info(${table})`.execute(db)).rows.map(
        (r) => r.name,
      );
    expect(await columns("job")).toEqual([
      "id",
      "rap_id",
      "state",
      "repo_url",
      "commit",
      "workspace",
      "database_name",
      "action",
      "action_repo_url",
      "action_commit",
      "requires_outputs_from",
      "wait_for_job_ids",
      "run_command",
      "image_id",
      "output_spec",
      "outputs",
      "unmatched_outputs",
      "level4_excluded_files",
      "status_message",
      "status_code",
      "cancelled",
      "created_at",
      "updated_at",
      "started_at",
      "completed_at",
      "trace_context",
      "status_code_updated_at",
      "requires_db",
      "backend",
      "branch",
      "user",
      "project",
      "orgs",
      "analysis_scope",
      "seq",
      "change_seq",
    ]);
    expect(await columns("tasks")).toEqual([
      "id",
      "backend",
      "type",
      "job_id",
      "definition",
      "active",
      "created_at",
      "finished_at",
      "attributes",
      "agent_stage",
      "agent_complete",
      "agent_results",
      "agent_timestamp_ns",
      "seq",
      "agent_updated_at",
      "change_seq",
    ]);
    expect(await columns("flags")).toEqual(["id", "backend", "value", "timestamp"]);
    await db.destroy();
  });

  test("SQLite runs in WAL mode with a busy timeout", async () => {
    const db = await openDatabase({ dialect: "sqlite", path: tempPath() }, { migrate: true });
    const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(db);
    const timeout = await sql<{ timeout: number }>`pragma busy_timeout`.execute(db);
    expect(mode.rows[0]!.journal_mode).toBe("wal");
    expect(timeout.rows[0]!.timeout).toBe(5000);
    await db.destroy();
  });

  test("the page cache is the reference's 250 MiB unless the caller asks for another size", async () => {
    const cacheSize = async (db: Awaited<ReturnType<typeof openDatabase>>) =>
      (await sql<{ cache_size: number }>`pragma cache_size`.execute(db)).rows[0]!.cache_size;
    const path = tempPath();
    const main = await openDatabase({ dialect: "sqlite", path });
    const reader = await openDatabase({ dialect: "sqlite", path }, { pageCacheMiB: 64 });
    expect(await cacheSize(main)).toBe(-256000);
    expect(await cacheSize(reader)).toBe(-65536);
    await main.destroy();
    await reader.destroy();
  });

  test("0003 gives existing jobs and tasks their insertion order as seq, and every later row the next", async () => {
    const db = await openDatabase({ dialect: "sqlite", path: tempPath() });
    // The database as 0002 left it, with rows whose ids sort otherwise than they were inserted.
    const before = new Migrator({
      db: db as Kysely<unknown>,
      provider: {
        getMigrations: async () => ({
          "0001_initial": initial,
          "0002_latest_metrics_index": { up: (d) => latestMetricsIndex.up(d, "sqlite") },
        }),
      },
    });
    expect((await before.migrateToLatest()).error).toBeUndefined();
    const job = (id: string) => makeJob({ id, createdAt: 1 });
    await insertJobs(db, [job("zzz"), job("aaa"), job("mmm")]);
    const task = (id: string) => ({
      id,
      backend: "test",
      type: "runjob" as const,
      jobId: "aaa",
      definition: {},
      attributes: {},
      createdAt: 1,
    });
    await insertTask(db, task("aaa-002"));
    await insertTask(db, task("aaa-001"));

    expect(await migrateToLatest(db, "sqlite")).toEqual([
      "0003_insertion_order",
      "0004_scheduler_lease",
      "0005_task_agent_updated_at",
      "0006_task_job_metrics",
      "0007_change_seq",
    ]);
    await insertJobs(db, [job("bbb")]);
    await insertTask(db, task("aaa-003"));
    const order = async (table: "job" | "tasks") =>
      (
        await sql<{ id: string; seq: number }>`select id, seq from ${sql.table(table)} order by seq`.execute(
          db,
        )
      ).rows;
    expect(await order("job")).toEqual([
      { id: "zzz", seq: 1 },
      { id: "aaa", seq: 2 },
      { id: "mmm", seq: 3 },
      { id: "bbb", seq: 4 },
    ]);
    expect(await order("tasks")).toEqual([
      { id: "aaa-002", seq: 1 },
      { id: "aaa-001", seq: 2 },
      { id: "aaa-003", seq: 3 },
    ]);
    await db.destroy();
  });
});
