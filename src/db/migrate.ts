import { type Kysely, type Migration, type MigrationResultSet, Migrator } from "kysely";
import * as initial from "./migrations/0001_initial.js";
import * as latestMetricsIndex from "./migrations/0002_latest_metrics_index.js";
import * as insertionOrder from "./migrations/0003_insertion_order.js";
import * as schedulerLease from "./migrations/0004_scheduler_lease.js";
import * as taskAgentUpdatedAt from "./migrations/0005_task_agent_updated_at.js";
import * as taskJobMetrics from "./migrations/0006_task_job_metrics.js";
import * as changeSeq from "./migrations/0007_change_seq.js";
import type { Dialect, DialectMigration } from "./migrations/dialect.js";

export type { Dialect } from "./migrations/dialect.js";

/** Every migration, in order. Names sort lexically; a new one gets the next number. */
const MIGRATIONS: Record<string, DialectMigration> = {
  "0001_initial": initial,
  "0002_latest_metrics_index": latestMetricsIndex,
  "0003_insertion_order": insertionOrder,
  "0004_scheduler_lease": schedulerLease,
  "0005_task_agent_updated_at": taskAgentUpdatedAt,
  "0006_task_job_metrics": taskJobMetrics,
  "0007_change_seq": changeSeq,
};

/** The migrations as Kysely runs them, each told the dialect of the database it runs on. */
function migrationsOn(dialect: Dialect): Record<string, Migration> {
  return Object.fromEntries(
    Object.entries(MIGRATIONS).map(([name, migration]) => [
      name,
      {
        up: (db: Kysely<unknown>) => migration.up(db, dialect),
        ...(migration.down ? { down: (db: Kysely<unknown>) => migration.down!(db, dialect) } : {}),
      },
    ]),
  );
}

export class MigrationError extends Error {
  readonly code = "DB_MIGRATION_FAILED";
}

/** Migrations see the schema as untyped: they run before the tables the `Database` type describes exist. */
function migrator<T>(db: Kysely<T>, dialect: Dialect): Migrator {
  const migrations = migrationsOn(dialect);
  return new Migrator({ db: db as Kysely<unknown>, provider: { getMigrations: async () => migrations } });
}

/**
 * Applies every pending migration to `db`, a database of `dialect`. Returns the names applied (empty when the
 * database was already current).
 */
export async function migrateToLatest<T>(db: Kysely<T>, dialect: Dialect): Promise<string[]> {
  const { error, results }: MigrationResultSet = await migrator(db, dialect).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    throw new MigrationError(
      `database migration ${failed} failed: ${error instanceof Error ? error.message : error}`,
    );
  }
  return (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}

/** Names of migrations not yet applied to this database. */
export async function pendingMigrations<T>(db: Kysely<T>, dialect: Dialect): Promise<string[]> {
  const all = await migrator(db, dialect).getMigrations();
  return all.filter((m) => m.executedAt === undefined).map((m) => m.name);
}
