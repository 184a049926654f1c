/**
 * The database: one Kysely instance over SQLite (PostgreSQL later, behind the same interface). Callers use the query
 * modules in queries/ and never write SQL themselves.
 */
import { Kysely } from "kysely";
import type { DatabaseLocation } from "../config/index.js";
import { migrateToLatest } from "./migrate.js";
import type { Database } from "./schema.js";
import { sqliteDialect } from "./sqlite.js";

export { MigrationError, migrateToLatest, pendingMigrations } from "./migrate.js";
export type { Database } from "./schema.js";

export type Db = Kysely<Database>;

export interface OpenOptions {
  /** Apply pending migrations before returning (what the server does on start). */
  migrate?: boolean;
}

export async function openDatabase(location: DatabaseLocation, options: OpenOptions = {}): Promise<Db> {
  const db = new Kysely<Database>({ dialect: sqliteDialect(location.path) });
  if (options.migrate) await migrateToLatest(db);
  return db;
}
