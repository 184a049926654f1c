import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/index.js";
import { type Db, openDatabase } from "../../src/db/index.js";
import { openStorage } from "../../src/db/open.js";
import { PostgresStorage } from "../../src/db/postgres-storage.js";
import { SqliteStorage } from "../../src/db/sqlite-storage.js";
import type { Storage } from "../../src/db/storage.js";
import { createTestPostgres, testDatabaseIsPostgres } from "./postgres.js";

/** A freshly migrated SQLite database in its own temp directory; `close()` removes it. */
export async function openTestDatabase(): Promise<{
  db: Db;
  dir: string;
  path: string;
  close(): Promise<void>;
}> {
  const dir = mkdtempSync(join(tmpdir(), "rap-db-"));
  const path = join(dir, "db.sqlite");
  const db = await openDatabase({ dialect: "sqlite", path }, { migrate: true });
  return {
    db,
    dir,
    path,
    close: async () => {
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A freshly migrated test database of the run's dialect (test/support/postgres.ts `testDatabaseIsPostgres`). */
export interface TestDatabase {
  /** The Kysely instance, for tests that write rows directly through the portable queries. */
  db: Db;
  /** The settings naming it (DATABASE_URL), for a `rap` process or another connection. */
  env: Record<string, string>;
  /** The SQLite file (undefined on PostgreSQL). */
  file: string | undefined;
  /** Storage roles over `db` with their own status readers (status workers on SQLite's `file`, if asked). */
  storageOn(db: Db, options?: { statusWorkers?: number }): Storage & { closeReaders(): Promise<void> };
  /** Storage on a connection of its own, as another process would open it (the caller closes it). */
  openAnother(): Promise<Storage>;
  /** Closes `db` and removes the database. */
  close(): Promise<void>;
}

/**
 * A fresh database: an SQLite file in a temp directory, or, in the `postgres` test project, a database of its own
 * on the test server (vitest.config.ts); `dialect` chooses one whatever the project (tests of one dialect's own).
 */
/** Storage as a `rap` process opens it from DATABASE_URL. */
function openFromEnv(env: Record<string, string>): Promise<Storage> {
  return openStorage(loadConfig({ BACKENDS: "test", ...env }).database);
}

export async function openTestDb(
  dialect: "sqlite" | "postgres" = testDatabaseIsPostgres() ? "postgres" : "sqlite",
): Promise<TestDatabase> {
  if (dialect === "sqlite") {
    const database = await openTestDatabase();
    const env = { DATABASE_URL: `sqlite:${database.path}` };
    return {
      db: database.db,
      env,
      openAnother: () => openFromEnv(env),
      file: database.path,
      storageOn: (db, options = {}) => {
        const storage = new SqliteStorage(db, {
          statusWorkers: options.statusWorkers ?? 0,
          file: database.path,
        });
        return Object.assign(storage, { closeReaders: () => storage.closeStatusWorkers() });
      },
      close: database.close,
    };
  }
  const server = await createTestPostgres({ migrated: true });
  const env = { DATABASE_URL: server.url };
  const storage = await openStorage(loadConfig({ BACKENDS: "test", ...env }).database, { migrate: true });
  const db = (storage as PostgresStorage).db;
  return {
    db,
    env,
    openAnother: () => openFromEnv(env),
    file: undefined,
    // A PostgreSQL status reader holds nothing of its own: the pool is `db`'s, closed with it.
    storageOn: (on) => Object.assign(new PostgresStorage(on), { closeReaders: async () => undefined }),
    close: async () => {
      await storage.close();
      await server.drop();
    },
  };
}

/**
 * The settings a `rap` process (or the composition root) is given to use the run's test database: none on SQLite
 * (WORKDIR/db.sqlite, created by the process), a DATABASE_URL of a fresh database on the test server in the
 * `postgres` project, empty or, with `migrated`, already migrated (test/support/postgres.ts). `drop()` removes that
 * database (a no-op on SQLite: WORKDIR is the caller's).
 */
export async function testDatabaseEnv(
  options: { migrated?: boolean } = {},
): Promise<{ env: Record<string, string>; drop(): Promise<void> }> {
  if (!testDatabaseIsPostgres()) return { env: {}, drop: async () => undefined };
  const server = await createTestPostgres(options);
  return { env: { DATABASE_URL: server.url }, drop: server.drop };
}
