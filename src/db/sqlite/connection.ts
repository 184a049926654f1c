import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import SqliteDatabase from "better-sqlite3";
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  SqliteDialect,
  type SqliteDialectConfig,
} from "kysely";
import { StorageFullError } from "../storage.js";

/**
 * SQLite through better-sqlite3, tuned as the reference does (WAL, busy timeout, NORMAL sync, large page cache), and
 * with write transactions that take the write lock up front. A plain `BEGIN` lets two processes both read and then
 * fail to upgrade to a write with SQLITE_BUSY; `BEGIN IMMEDIATE` waits on the busy timeout instead.
 */
class ImmediateTransactionDialect extends SqliteDialect {
  constructor(
    config: SqliteDialectConfig,
    private readonly database: SqliteDatabase.Database,
  ) {
    super(config);
  }

  override createDriver(): Driver {
    const driver = super.createDriver();
    const acquire = driver.acquireConnection.bind(driver);
    const translating = new WeakMap<DatabaseConnection, DatabaseConnection>();
    driver.acquireConnection = async () => {
      const connection = await acquire();
      let wrapped = translating.get(connection);
      if (!wrapped) {
        wrapped = fullDiskAsStorageFull(connection);
        translating.set(connection, wrapped);
      }
      return wrapped;
    };
    driver.beginTransaction = async (connection: DatabaseConnection) => {
      await connection.executeQuery(CompiledQuery.raw("begin immediate"));
    };
    driver.rollbackTransaction = async (connection: DatabaseConnection) => {
      // SQLite rolls back by itself on some errors (SQLITE_FULL among them); a ROLLBACK then fails with "cannot
      // rollback - no transaction is active", and that error would replace the real one.
      if (this.database.inTransaction) await connection.executeQuery(CompiledQuery.raw("rollback"));
    };
    return driver;
  }
}

/**
 * The connection, with SQLite's "database or disk is full" (SQLITE_FULL) thrown as StorageFullError, the same for
 * every write whether in a transaction or not: callers above src/db tell it from a fault without knowing SQLite.
 */
function fullDiskAsStorageFull(connection: DatabaseConnection): DatabaseConnection {
  return {
    async executeQuery<R>(query: CompiledQuery) {
      try {
        return await connection.executeQuery<R>(query);
      } catch (error) {
        if ((error as { code?: unknown }).code === "SQLITE_FULL")
          throw new StorageFullError({ cause: error });
        throw error;
      }
    },
    streamQuery: (query, chunkSize) => connection.streamQuery(query, chunkSize),
  };
}

/** Prepared statements kept per SQL text; hot queries (status, flags) then skip SQLite's parse and plan. */
const STATEMENT_CACHE_SIZE = 200;

/**
 * The database as Kysely sees it, with `prepare` answered from a bounded cache. Safe because Kysely runs one query
 * at a time on its single SQLite connection, so a cached statement is never in use twice at once.
 */
function withStatementCache(database: SqliteDatabase.Database) {
  const statements = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => database.close(),
    prepare(sql: string) {
      let statement = statements.get(sql);
      if (!statement) {
        statement = database.prepare(sql);
        if (statements.size >= STATEMENT_CACHE_SIZE) statements.delete(statements.keys().next().value!);
        statements.set(sql, statement);
      }
      return statement;
    },
  };
}

/**
 * Reads that bypass Kysely: `all` runs a compiled statement on the connection at once and returns the same rows
 * Kysely's SQLite driver would. A hot read (status endpoints) then costs the SQLite work and little else: Kysely's
 * per-query overhead (connection mutex, promises, result handling) is larger than running a small query.
 */
export interface DirectReads {
  /**
   * Rows of a read-only statement, or undefined when it must go through Kysely instead (a transaction is open, or
   * the connection is closed).
   */
  all<R>(sql: string, parameters: readonly unknown[]): R[] | undefined;
  /**
   * A value that differs whenever the database may have changed since it was last taken: a commit by any other
   * connection (PRAGMA data_version) or any row changed through this one (total_changes()). Costs a few
   * microseconds, against tens for a small query. Undefined while a transaction is open, when a committed change
   * could not be told from an uncommitted one.
   */
  changeStamp(): string | undefined;
}

/** changeStamp of DirectReads for this connection. */
function changeStamper(database: SqliteDatabase.Database): () => string {
  const dataVersion = database.prepare("pragma data_version").pluck();
  const totalChanges = database.prepare("select total_changes()").pluck();
  return () => `${dataVersion.get()}:${totalChanges.get()}`;
}

const directByDialect = new WeakMap<SqliteDialect, DirectReads>();

/** The dialect's direct reads (only dialects made by `sqliteDialect` have them). */
export function directReadsOf(dialect: SqliteDialect): DirectReads | undefined {
  return directByDialect.get(dialect);
}

export function sqliteDialect(path: string, pageCacheMiB: number): SqliteDialect {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const database = new SqliteDatabase(path);
  database.pragma("journal_mode = WAL");
  database.pragma("synchronous = NORMAL");
  database.pragma("busy_timeout = 5000");
  database.pragma(`cache_size = -${Math.round(pageCacheMiB * 1024)}`);
  const cached = withStatementCache(database);
  const dialect = new ImmediateTransactionDialect({ database: cached }, database);
  const idle = () => database.open && !database.inTransaction;
  const stamp = changeStamper(database);
  directByDialect.set(dialect, {
    // While a Kysely transaction is open on the connection (it may be between two of its statements, awaiting
    // something), a read here would see its uncommitted writes; Kysely would wait for it to end, so defer to it.
    // Otherwise the connection is idle: better-sqlite3 is synchronous, so no Kysely query is half-way through.
    all: <R>(sql: string, parameters: readonly unknown[]) =>
      idle() ? (cached.prepare(sql).all(...parameters) as R[]) : undefined,
    changeStamp: () => (idle() ? stamp() : undefined),
  });
  return dialect;
}
