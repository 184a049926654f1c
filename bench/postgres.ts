/**
 * The PostgreSQL column of bench:api, bench:create and bench:scheduler. A server is named by RAP_BENCH_POSTGRES_URL
 * (or the tests' RAP_TEST_POSTGRES_URL: `eval "$(bash scripts/start-test-postgres.sh)"` starts one); each case gets
 * a fresh database on it, dropped afterwards. Without either variable the benches measure SQLite alone and say so.
 */
import { randomBytes } from "node:crypto";
import { copyFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import type { DatabaseLocation } from "../src/config/index.js";
import { type Db, migrateToLatest, openDatabase } from "../src/db/index.js";
import { DEFAULT_POSTGRES_OPTIONS, openPostgres } from "../src/db/postgres/connection.js";
import { PostgresStorage } from "../src/db/postgres-storage.js";
import { SqliteStorage } from "../src/db/sqlite-storage.js";
import type { Storage } from "../src/db/storage.js";

const URL_VARIABLES = ["RAP_BENCH_POSTGRES_URL", "RAP_TEST_POSTGRES_URL"] as const;

export type Dialect = DatabaseLocation["dialect"];

export const DIALECT_NAMES: Record<Dialect, string> = { sqlite: "SQLite", postgres: "PostgreSQL" };

/** The server to measure PostgreSQL on, if one is named. */
export function benchPostgresUrl(): string | undefined {
  for (const variable of URL_VARIABLES) {
    const url = process.env[variable]?.trim();
    if (url) return url;
  }
  return undefined;
}

/** The databases this run measures, SQLite first; says so when PostgreSQL is left out. */
export function benchDialects(): Dialect[] {
  if (benchPostgresUrl()) return ["sqlite", "postgres"];
  console.warn(
    `PostgreSQL skipped: set ${URL_VARIABLES.join(" or ")} to a server's URL ` +
      `(eval "$(bash scripts/start-test-postgres.sh)" starts one)`,
  );
  return ["sqlite"];
}

async function onServer(sqlText: string): Promise<void> {
  const client = new pg.Client({ connectionString: benchPostgresUrl()! });
  await client.connect();
  try {
    await client.query(sqlText);
  } finally {
    await client.end();
  }
}

export interface BenchDatabase {
  name: string;
  location: DatabaseLocation;
  /** Removes the database; whatever is still connected to it is disconnected. */
  drop(): Promise<void>;
}

export interface BenchPostgres extends BenchDatabase {
  location: Extract<DatabaseLocation, { dialect: "postgres" }>;
  /** Removes the database; whatever is still connected to it is disconnected. */
  drop(): Promise<void>;
}

/**
 * A new database on the bench server (the server's default pool size and statement timeout): empty, or a copy of
 * `template` (PostgreSQL's own copy; nothing may be connected to the template).
 */
export async function createBenchPostgres(template?: BenchPostgres): Promise<BenchPostgres> {
  const name = `rap_bench_${process.pid}_${randomBytes(4).toString("hex")}`;
  await onServer(`create database ${name}${template ? ` template ${template.name}` : ""}`);
  const url = new URL(benchPostgresUrl()!);
  url.pathname = `/${name}`;
  return {
    name,
    location: { dialect: "postgres", url: url.toString(), ...DEFAULT_POSTGRES_OPTIONS },
    drop: () => onServer(`drop database ${name} with (force)`),
  };
}

/** A database for one case: an SQLite file in `dir`, or a database on the bench server; a copy of `template`. */
export async function createBenchDatabase(
  dialect: Dialect,
  dir: string,
  name: string,
  template?: BenchDatabase,
): Promise<BenchDatabase> {
  if (dialect === "postgres")
    return createBenchPostgres(
      template?.location.dialect === "postgres" ? (template as BenchPostgres) : undefined,
    );
  const path = join(dir, `${name}.sqlite`);
  if (template?.location.dialect === "sqlite") copyFileSync(template.location.path, path);
  return { name, location: { dialect, path }, drop: async () => rmSync(path, { force: true }) };
}

/** A migrated Kysely connection to either database, for seeding it with the project's own queries. */
export async function openMigrated(location: DatabaseLocation): Promise<Db> {
  if (location.dialect === "sqlite") return openDatabase(location, { migrate: true });
  const db = openPostgres(location.url, location);
  await migrateToLatest(db, "postgres");
  return db;
}

/** The storage the servers would open on `location`, migrated, with its Kysely connection for baselines. */
export async function openBenchStorage(
  location: DatabaseLocation,
  options: { statusWorkers?: number } = {},
): Promise<{ db: Db; storage: Storage }> {
  const db = await openMigrated(location);
  const storage = location.dialect === "sqlite" ? new SqliteStorage(db, options) : new PostgresStorage(db);
  return { db, storage };
}
