/**
 * Opening storage: the one place that turns a configured database location into the storage roles
 * (./storage.ts), and the database-level operations the CLI offers (migrate, snapshot). With ./storage.ts, the only
 * module of src/db that code above it may import (scripts/check-dependencies.mjs): a PostgreSQL implementation
 * plugs in here, and nothing above src/db changes.
 */
import { existsSync } from "node:fs";
import type { DatabaseLocation } from "../config/index.js";
import { migrateToLatest, openDatabase } from "./index.js";
import { snapshotSqlite } from "./snapshot.js";
import { SqliteStorage } from "./sqlite-storage.js";
import type { Storage } from "./storage.js";

export { MigrationError } from "./migrate.js";
export { SnapshotRefusedError } from "./snapshot.js";

/** A configured database this version cannot open (PostgreSQL, until its implementation plugs in here). */
export class DialectNotSupportedError extends Error {
  readonly code = "DIALECT_NOT_SUPPORTED";
  constructor() {
    super(
      "DATABASE_URL names a PostgreSQL database, which this version does not support yet: set " +
        "DATABASE_URL=sqlite:PATH, or leave it unset for WORKDIR/db.sqlite",
    );
  }
}

export interface OpenStorageOptions {
  /** Apply pending migrations before returning (what the servers and the operator commands do). */
  migrate?: boolean;
  /** Worker threads for large rap/status answers (default 0: every answer on the calling thread). */
  statusWorkers?: number;
}

export async function openStorage(
  location: DatabaseLocation,
  options: OpenStorageOptions = {},
): Promise<Storage> {
  switch (location.dialect) {
    case "sqlite": {
      const db = await openDatabase(location, options.migrate ? { migrate: true } : {});
      return new SqliteStorage(db, { statusWorkers: options.statusWorkers ?? 0 });
    }
    case "postgres":
      throw new DialectNotSupportedError();
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
  if (location.dialect !== "sqlite") throw new DialectNotSupportedError();
  const created = !databaseExists(location);
  const db = await openDatabase(location);
  try {
    return { created, applied: await migrateToLatest(db, "sqlite") };
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
  if (location.dialect !== "sqlite") throw new DialectNotSupportedError();
  return snapshotSqlite(location.path, target, force);
}
