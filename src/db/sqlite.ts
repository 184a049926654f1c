import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import SqliteDatabase from "better-sqlite3";
import { CompiledQuery, type DatabaseConnection, type Driver, SqliteDialect } from "kysely";

/**
 * SQLite through better-sqlite3, tuned as the reference does (WAL, busy timeout, NORMAL sync, large page cache), and
 * with write transactions that take the write lock up front. A plain `BEGIN` lets two processes both read and then
 * fail to upgrade to a write with SQLITE_BUSY; `BEGIN IMMEDIATE` waits on the busy timeout instead.
 */
class ImmediateTransactionDialect extends SqliteDialect {
  override createDriver(): Driver {
    const driver = super.createDriver();
    driver.beginTransaction = async (connection: DatabaseConnection) => {
      await connection.executeQuery(CompiledQuery.raw("begin immediate"));
    };
    return driver;
  }
}

export function sqliteDialect(path: string): SqliteDialect {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const database = new SqliteDatabase(path);
  database.pragma("journal_mode = WAL");
  database.pragma("synchronous = NORMAL");
  database.pragma("busy_timeout = 5000");
  database.pragma("cache_size = -256000");
  return new ImmediateTransactionDialect({ database });
}
