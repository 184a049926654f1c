/**
 * PostgreSQL through `pg`: a pool of connections for Kysely's PostgresDialect. TLS and everything else about the
 * connection comes from the URL (`sslmode=require`, …), as `pg` reads it.
 */
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import type { Database } from "../schema.js";

export interface PostgresOptions {
  /** Connections in the pool (DATABASE_POOL_SIZE). */
  poolSize: number;
  /** How long one statement may run before the server cancels it, in milliseconds; 0 for no limit. */
  statementTimeoutMs: number;
}

export const DEFAULT_POSTGRES_OPTIONS: PostgresOptions = { poolSize: 10, statementTimeoutMs: 30_000 };

/**
 * The domain's numbers come back as numbers: `pg` hands bigint (int8: times in seconds, ms and ns; counts) over as
 * strings, to keep digits beyond 2^53. SQLite's driver gives the same numbers, so both lose the same digits.
 */
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === pg.types.builtins.INT8
      ? (text: string) => Number(text)
      : pg.types.getTypeParser(oid, format ?? "text")) as typeof pg.types.getTypeParser,
};

export function openPostgres(
  url: string,
  options: PostgresOptions = DEFAULT_POSTGRES_OPTIONS,
): Kysely<Database> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize,
    types,
    ...(options.statementTimeoutMs > 0 ? { statement_timeout: options.statementTimeoutMs } : {}),
  });
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
