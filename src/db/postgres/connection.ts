/**
 * PostgreSQL through `pg`: a pool of connections for Kysely's PostgresDialect. TLS and everything else about the
 * connection comes from the URL (`sslmode=require`, …), as `pg` reads it.
 */
import { type DatabaseConnection, type Driver, Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { DEFAULT_SCHEDULER_LEASE_TTL_S } from "../../config/scheduler.js";
import type { Database } from "../schema.js";
import { StorageFullError, StorageUnavailableError } from "../storage.js";

export interface PostgresOptions {
  /** Connections in the pool (DATABASE_POOL_SIZE). */
  poolSize: number;
  /** How long one statement may run before the server cancels it, in milliseconds; 0 for no limit. */
  statementTimeoutMs: number;
  /**
   * How long a transaction may wait for its next statement before the server ends the session, in milliseconds; 0
   * for no limit. A client cut off mid-transaction would otherwise hold its locks until TCP gives up (hours).
   */
  idleInTransactionTimeoutMs: number;
}

export const DEFAULT_POSTGRES_OPTIONS: PostgresOptions = {
  poolSize: 10,
  statementTimeoutMs: 30_000,
  idleInTransactionTimeoutMs: DEFAULT_SCHEDULER_LEASE_TTL_S * 1000,
};

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

/** PostgreSQL's SQLSTATE for "could not extend file … No space left on device". */
const DISK_FULL = "53100";

/**
 * SQLSTATEs of a session the server ended or could not give: the connection exception class (08…), the server
 * shutting down or starting (57P01–57P03), and a transaction ended for idling past idle_in_transaction_session_timeout
 * (25P03), which closes the session with it.
 */
const SESSION_ENDED = /^(08...|57P0[123]|25P03)$/;
/** A socket's failures, as Node's `code`. */
const SOCKET_ERRORS = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);
/** What `pg` and its pool say, with no code, of a connection that ended or could not be made. */
const LOST_CONNECTION_MESSAGES = [
  "Connection terminated",
  "Client has encountered a connection error and is not queryable",
  "Client was closed and is not queryable",
  "timeout exceeded when trying to connect",
  "timeout expired",
];

/** Whether `error` says the connection to the server is gone or could not be made, rather than a fault in a statement. */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && (SESSION_ENDED.test(code) || SOCKET_ERRORS.has(code))) return true;
  return LOST_CONNECTION_MESSAGES.some((message) => error.message.startsWith(message));
}

/** The storage error an error of `pg` stands for, or the error itself. */
function translated(error: unknown): unknown {
  if ((error as { code?: unknown }).code === DISK_FULL) return new StorageFullError({ cause: error });
  if (isConnectionError(error)) return new StorageUnavailableError({ cause: error });
  return error;
}

/**
 * PostgreSQL's dialect with the server's disk_full error thrown as StorageFullError, for every statement (commits
 * included), as SQLite's SQLITE_FULL is (src/db/sqlite/connection.ts), and a lost or refused connection as
 * StorageUnavailableError, when a statement runs or a connection is taken from the pool: callers above src/db answer
 * each without knowing the dialect. The driver's own connection object is kept (it releases and discards
 * connections through private members of it); only its executeQuery is wrapped, once per connection.
 */
class TranslatingPostgresDialect extends PostgresDialect {
  override createDriver(): Driver {
    const driver = super.createDriver();
    const acquire = driver.acquireConnection.bind(driver);
    const translating = new WeakSet<DatabaseConnection>();
    driver.acquireConnection = async () => {
      let connection: DatabaseConnection;
      try {
        connection = await acquire();
      } catch (error) {
        throw translated(error);
      }
      if (!translating.has(connection)) {
        translating.add(connection);
        const execute = connection.executeQuery.bind(connection);
        connection.executeQuery = async (query) => {
          try {
            return await execute(query);
          } catch (error) {
            throw translated(error);
          }
        };
      }
      return connection;
    };
    return driver;
  }
}

export function openPostgres(
  url: string,
  options: PostgresOptions = DEFAULT_POSTGRES_OPTIONS,
): Kysely<Database> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize,
    types,
    ...(options.statementTimeoutMs > 0 ? { statement_timeout: options.statementTimeoutMs } : {}),
    ...(options.idleInTransactionTimeoutMs > 0
      ? { idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs }
      : {}),
  });
  // A connection the server ends or the network cuts (a restart, pg_terminate_backend, a reset) is an 'error' event
  // of its client, and of the pool when it was idle there: with no listener, either would end the process. The
  // query in flight, if any, fails with that error on its own; the pool drops the connection, and the next query
  // opens another and reports its own failure, if any.
  pool.on("error", () => undefined);
  pool.on("connect", (client) => client.on("error", () => undefined));
  return new Kysely<Database>({ dialect: new TranslatingPostgresDialect({ pool }) });
}
