/**
 * The SQLite database: one Kysely instance over one better-sqlite3 connection. Storage (./sqlite-storage.ts) uses
 * it through the query modules in queries/ (portable SQL) and sqlite/ (SQLite's own hot queries); nothing above
 * src/db sees it (./open.ts opens storage).
 */
import { type CompiledQuery, Kysely } from "kysely";
import { migrateToLatest } from "./migrate.js";
import type { Database } from "./schema.js";
import { type DirectReads, directReadsOf, sqliteDialect } from "./sqlite/connection.js";

export { MigrationError, migrateToLatest, pendingMigrations } from "./migrate.js";
export type { Database } from "./schema.js";

export type Db = Kysely<Database>;

export interface OpenOptions {
  /** Apply pending migrations before returning (what the server does on start). */
  migrate?: boolean;
  /** The most memory SQLite may use to cache pages on this connection; the reference's 250 MiB by default. */
  pageCacheMiB?: number;
  /** Writes take turns with the other threads holding this gate (src/db/sqlite/write-gate.ts). */
  writeGate?: SharedArrayBuffer;
}

const directByDb = new WeakMap<Db, DirectReads>();
const fileByDb = new WeakMap<Db, string>();

/** Opens the SQLite database file at `location.path` (`:memory:` for one in memory). */
export async function openDatabase(
  location: { readonly dialect?: "sqlite"; readonly path: string },
  options: OpenOptions = {},
): Promise<Db> {
  const dialect = sqliteDialect(location.path, options.pageCacheMiB ?? 250, options.writeGate);
  const db = new Kysely<Database>({ dialect });
  const direct = directReadsOf(dialect);
  if (direct) directByDb.set(db, direct);
  if (location.path !== ":memory:") fileByDb.set(db, location.path);
  if (options.migrate) await migrateToLatest(db, "sqlite");
  return db;
}

/**
 * Runs a compiled read-only query on `db`'s connection without Kysely (src/db/sqlite/connection.ts `DirectReads`), for the
 * hot read queries; undefined when that is not possible (a transaction's Db, a transaction open, a Db not made by
 * openDatabase), and the caller then executes the same query through Kysely. Query modules only.
 */
export function readDirectly<R>(db: Db, query: CompiledQuery<R>): R[] | undefined {
  return directByDb.get(db)?.all<R>(query.sql, query.parameters);
}

/**
 * A value that changes whenever `db` may have changed, through `db` or from any other process (src/db/sqlite/connection.ts
 * `DirectReads.changeStamp`). An answer computed from the database may be kept while the stamp stays the same:
 * checked on every request, such a cache is never stale, as DESIGN requires (every process sees the others'
 * changes at once). Undefined when it cannot be told, and then nothing may be kept.
 */
export function changeStamp(db: Db): string | undefined {
  return directByDb.get(db)?.changeStamp();
}

/** The SQLite file behind `db`, for another connection to open (a worker thread); undefined for any other Db. */
export function databaseFile(db: Db): string | undefined {
  return fileByDb.get(db);
}
