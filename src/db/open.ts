/**
 * Opening storage: the one place that turns a configured database location into the storage roles
 * (./storage.ts), and the database-level operations the CLI offers (migrate, snapshot). With ./storage.ts, the only
 * module of src/db that code above it may import (scripts/check-dependencies.mjs): SQLite (a file path) and
 * PostgreSQL (a postgres:// URL) plug in here, and nothing above src/db knows which.
 */
import { existsSync } from "node:fs";
import type { Kysely } from "kysely";
import type { DatabaseLocation } from "../config/index.js";
import { migrateToLatest, openDatabase } from "./index.js";
import { SnapshotRefusedError, snapshotSqlite } from "./snapshot.js";
import { BackgroundCheckpoints } from "./sqlite/checkpoints.js";
import { SqliteStorage } from "./sqlite-storage.js";
import type { Storage } from "./storage.js";

export { MigrationError } from "./migrate.js";
export { SnapshotRefusedError } from "./snapshot.js";
export { newWriteGate } from "./sqlite/connection.js";

export interface OpenStorageOptions {
  /** Apply pending migrations before returning (what the servers and the operator commands do). */
  migrate?: boolean;
  /**
   * How far large rap/status answers are divided (default 0: not at all): SQLite's worker threads, or PostgreSQL's
   * statements run at once on pooled connections.
   */
  statusWorkers?: number;
  /**
   * SQLite: checkpoint the write-ahead log on a thread of its own rather than in whichever commit fills it
   * (./sqlite/checkpoints.ts); what a server does. PostgreSQL checkpoints by itself.
   */
  backgroundCheckpoints?: boolean;
  /**
   * SQLite: the write gate this process's threads share (`newWriteGate`), so that a thread waiting to write does
   * not block its event loop and takes its turn in order. PostgreSQL has no use for one.
   */
  writeGate?: SharedArrayBuffer;
}

// PostgreSQL's modules (and the pg driver) load only when a database is PostgreSQL: a `rap` command on SQLite
// starts without them.
const postgresConnection = () => import("./postgres/connection.js");
const postgresStorage = () => import("./postgres-storage.js");

export async function openStorage(
  location: DatabaseLocation,
  options: OpenStorageOptions = {},
): Promise<Storage> {
  switch (location.dialect) {
    case "sqlite": {
      const db = await openDatabase(location, {
        ...(options.migrate && { migrate: true }),
        ...(options.writeGate && { writeGate: options.writeGate }),
      });
      const checkpoints = options.backgroundCheckpoints ? BackgroundCheckpoints.for(db) : undefined;
      return new SqliteStorage(db, {
        statusWorkers: options.statusWorkers ?? 0,
        ...(checkpoints && { checkpoints }),
      });
    }
    case "postgres": {
      const [{ openPostgres }, { PostgresStorage }] = await Promise.all([
        postgresConnection(),
        postgresStorage(),
      ]);
      const db = openPostgres(location.url, location);
      try {
        if (options.migrate) await migrateToLatest(db, "postgres");
      } catch (error) {
        await db.destroy();
        throw error;
      }
      return new PostgresStorage(db, { statusStatements: options.statusWorkers ?? 0 });
    }
  }
}

/**
 * Whether the database exists: an operator command must not create a second, empty one by mistake. A server
 * database (PostgreSQL) always counts as existing; opening it then says whether it answers.
 */
export function databaseExists(location: DatabaseLocation): boolean {
  return location.dialect !== "sqlite" || location.path === ":memory:" || existsSync(location.path);
}

/** What `rap migrate` did: whether the database was new, and the migrations applied. */
export interface MigrationReport {
  created: boolean;
  applied: string[];
}

/** Creates the database or upgrades it to the latest schema (`rap migrate`). */
export async function migrateDatabase(location: DatabaseLocation): Promise<MigrationReport> {
  if (location.dialect === "postgres") {
    // The database itself is the operator's to create; "created" here means its schema was.
    const { openPostgres } = await postgresConnection();
    const applied = await migrateAndClose(openPostgres(location.url, location), "postgres");
    return { created: applied.includes("0001_initial"), applied };
  }
  const created = !databaseExists(location);
  return { created, applied: await migrateAndClose(await openDatabase(location), "sqlite") };
}

async function migrateAndClose<T>(db: Kysely<T>, dialect: "sqlite" | "postgres"): Promise<string[]> {
  try {
    return await migrateToLatest(db, dialect);
  } finally {
    await db.destroy();
  }
}

/**
 * A consistent copy of the live database written to `target` (`rap snapshot-db`); refuses an existing target unless
 * `force`. Returns its size in bytes.
 */
export async function snapshotDatabase(
  location: DatabaseLocation,
  target: string,
  force = false,
): Promise<number> {
  if (location.dialect === "postgres") {
    throw new SnapshotRefusedError(
      `rap snapshot-db copies an SQLite database; this one is PostgreSQL: take a consistent copy with pg_dump ` +
        `(pg_dump --format=custom --file=${target} "$DATABASE_URL")`,
    );
  }
  return snapshotSqlite(location.path, target, force);
}
