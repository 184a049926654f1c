/**
 * A PostgreSQL server for the tests that run against it: RAP_TEST_POSTGRES_URL names it (scripts/start-test-postgres.sh
 * starts one and prints the variable). Each `openTestPostgres` creates a fresh database on it and drops it on close.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import type { Requirement } from "./requirements.js";

export const POSTGRES_URL_VARIABLE = "RAP_TEST_POSTGRES_URL";

export function postgresRequirement(): Requirement {
  return {
    available: Boolean(process.env[POSTGRES_URL_VARIABLE]),
    reason: `${POSTGRES_URL_VARIABLE} is not set (eval "$(bash scripts/start-test-postgres.sh)" starts a server)`,
  };
}

/**
 * Whether this test run is the `postgres` project's (vitest.config.ts): shared helpers (test/support/system.ts) then
 * give each test a database on the test server instead of an SQLite file.
 */
export function testDatabaseIsPostgres(): boolean {
  return process.env.RAP_TEST_DATABASE === "postgres";
}

/** The server's URL with another database name. */
function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function onServer(run: (client: pg.Client) => Promise<void>): Promise<void> {
  const client = new pg.Client({ connectionString: process.env[POSTGRES_URL_VARIABLE]! });
  await client.connect();
  try {
    await run(client);
  } finally {
    await client.end();
  }
}

/**
 * Names a migrated database that fresh test databases are copied from (test/support/global-setup.ts makes it once
 * per run): copying it costs a fraction of creating a database and running every migration in it, per test.
 */
export const POSTGRES_TEMPLATE_VARIABLE = "RAP_TEST_POSTGRES_TEMPLATE";

/**
 * A new database on the test server: its URL, and `drop()` to remove it (again: a no-op), connections and all.
 * Empty, or with `migrated`, a copy of the run's migrated template when there is one (else empty: the caller
 * migrates it, as it would anyway).
 */
export async function createTestPostgres(
  options: { migrated?: boolean } = {},
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `rap_test_${process.pid}_${randomBytes(6).toString("hex")}`;
  const template = options.migrated ? process.env[POSTGRES_TEMPLATE_VARIABLE] : undefined;
  // FILE_COPY: for a database this small, copying its files beats writing them through the WAL.
  const from = template ? ` template ${template} strategy file_copy` : "";
  await onServer((client) => client.query(`create database ${name}${from}`).then(() => undefined));
  return {
    url: withDatabase(process.env[POSTGRES_URL_VARIABLE]!, name),
    drop: () =>
      onServer((client) =>
        client.query(`drop database if exists ${name} with (force)`).then(() => undefined),
      ),
  };
}
