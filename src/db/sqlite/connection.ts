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
import { WriteGate } from "./write-gate.js";

/**
 * SQLite through better-sqlite3, tuned as the reference does (WAL, busy timeout, NORMAL sync, large page cache), and
 * with write transactions that take the write lock up front. A plain `BEGIN` lets two processes both read and then
 * fail to upgrade to a write with SQLITE_BUSY; `BEGIN IMMEDIATE` waits on the busy timeout instead. With a
 * WriteGate, every write (a transaction, or a write statement outside one) first waits for this thread's turn
 * among the process's threads (./write-gate.ts).
 */
class ImmediateTransactionDialect extends SqliteDialect {
  /** The gate turn of the write transaction in progress. */
  private turn: number | undefined;

  constructor(
    config: SqliteDialectConfig,
    private readonly database: SqliteDatabase.Database,
    private readonly gate: WriteGate | undefined,
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
        wrapped = this.gatedWrites(fullDiskAsStorageFull(connection));
        translating.set(connection, wrapped);
      }
      return wrapped;
    };
    driver.beginTransaction = async (connection: DatabaseConnection) => {
      this.turn = await this.gate?.enter();
      try {
        await connection.executeQuery(CompiledQuery.raw("begin immediate"));
      } catch (error) {
        this.endTurn();
        throw error;
      }
    };
    driver.commitTransaction = async (connection: DatabaseConnection) => {
      try {
        await connection.executeQuery(CompiledQuery.raw("commit"));
      } finally {
        // A failed COMMIT leaves the transaction open for the rollback that follows: the turn lasts until then.
        if (!this.database.inTransaction) this.endTurn();
      }
    };
    driver.rollbackTransaction = async (connection: DatabaseConnection) => {
      try {
        // SQLite rolls back by itself on some errors (SQLITE_FULL among them); a ROLLBACK then fails with "cannot
        // rollback - no transaction is active", and that error would replace the real one.
        if (this.database.inTransaction) await connection.executeQuery(CompiledQuery.raw("rollback"));
      } finally {
        this.endTurn();
      }
    };
    return driver;
  }

  private endTurn(): void {
    if (this.turn !== undefined) this.gate?.leave(this.turn);
    this.turn = undefined;
  }

  /** A write statement outside a transaction waits for its turn too (a transaction's statements have theirs). */
  private gatedWrites(connection: DatabaseConnection): DatabaseConnection {
    const gate = this.gate;
    if (!gate) return connection;
    return {
      executeQuery: async <R>(query: CompiledQuery) => {
        if (this.database.inTransaction || !isWrite(query)) return connection.executeQuery<R>(query);
        const turn = await gate.enter();
        try {
          return await connection.executeQuery<R>(query);
        } finally {
          gate.leave(turn);
        }
      },
      streamQuery: (query, chunkSize) => connection.streamQuery(query, chunkSize),
    };
  }
}

const WRITE_NODES = new Set(["InsertQueryNode", "UpdateQueryNode", "DeleteQueryNode", "MergeQueryNode"]);

/** Whether a statement writes: Kysely's own writes, or raw SQL that starts as one does. */
function isWrite(query: CompiledQuery): boolean {
  if (WRITE_NODES.has(query.query.kind)) return true;
  return query.query.kind === "RawNode" && /^\s*(insert|update|delete|replace)\b/i.test(query.sql);
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

/** How long a writer waits for SQLite's write lock (busy_timeout), and for its turn at a WriteGate. */
export const BUSY_TIMEOUT_MS = 5000;

/** A WriteGate for the threads of this process that open the same database (pass its buffer to `sqliteDialect`). */
export function newWriteGate(): SharedArrayBuffer {
  return WriteGate.create(BUSY_TIMEOUT_MS).buffer;
}

export function sqliteDialect(
  path: string,
  pageCacheMiB: number,
  writeGate?: SharedArrayBuffer,
): SqliteDialect {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const database = new SqliteDatabase(path);
  database.pragma("journal_mode = WAL");
  database.pragma("synchronous = NORMAL");
  database.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  database.pragma(`cache_size = -${Math.round(pageCacheMiB * 1024)}`);
  const cached = withStatementCache(database);
  const gate = writeGate && new WriteGate(writeGate, BUSY_TIMEOUT_MS);
  const dialect = new ImmediateTransactionDialect({ database: cached }, database, gate);
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
