/**
 * Storage (src/db/storage.ts) over SQLite through Kysely. Transactions are `BEGIN IMMEDIATE` (src/db/sqlite/connection.ts):
 * they take the write lock up front, which is also what makes `withWorkspaceLock` exclusive (one writer at a time,
 * across processes).
 */
import type { Db } from "./index.js";
import { changeStamp, databaseFile } from "./index.js";
import { openTransaction } from "./open-transaction.js";
import { flagsReader } from "./queries/flags.js";
import { insertJobs, latestJobByAction } from "./queries/jobs.js";
import type { BackgroundCheckpoints } from "./sqlite/checkpoints.js";
import {
  activeJobs,
  changeMark,
  jobStates,
  jobsChangedSince,
  runJobTasksChangedSince,
  runJobTasksOf,
} from "./sqlite/scheduler-reads.js";
import { sqliteStatusSource } from "./sqlite/status-source.js";
import { StatusWorkers } from "./sqlite/status-workers.js";
import { applyStatuses } from "./sqlite/status-writes.js";
import { cachedStatusReader } from "./status/cached-reader.js";
import { RenderedJobCache } from "./status/job-cache.js";
import type {
  ChangeFeed,
  FlagStore,
  HandlingFailureStore,
  JobStore,
  LeaseStore,
  OpenTransaction,
  StatusReader,
  Storage,
  Stores,
  TaskStore,
} from "./storage.js";
import { type DialectQueries, storesOn } from "./stores.js";

/** SQLite's own forms of the hot reads (./sqlite/); its insert of jobs is the portable one. */
const SQLITE_QUERIES: DialectQueries = {
  insertJobs,
  applyStatuses,
  activeJobs,
  changeMark,
  jobsChangedSince,
  jobStates,
  latestJobByAction,
  runJobTasksOf,
  runJobTasksChangedSince,
  flagsReader,
};

function stores(db: Db): Stores {
  return storesOn(db, SQLITE_QUERIES);
}

export interface SqliteStorageOptions {
  /** Worker threads for large rap/status answers, each with its own connection (default 0: none). */
  statusWorkers?: number;
  /** The file the workers open; by default the one openDatabase opened for `db` (none for `:memory:`). */
  file?: string;
  /** What rap/status keeps of jobs' printed JSON between requests (src/db/status/job-cache.ts; a default budget). */
  statusCacheBytes?: number;
  /** The thread checkpointing `db` (./sqlite/checkpoints.ts), started by the first create, stopped on close. */
  checkpoints?: BackgroundCheckpoints;
}

export class SqliteStorage implements Storage {
  readonly jobs: JobStore;
  readonly changes: ChangeFeed;
  readonly tasks: TaskStore;
  readonly flags: FlagStore;
  readonly lease: LeaseStore;
  readonly failures: HandlingFailureStore;
  readonly status: StatusReader;
  private readonly workers: StatusWorkers | undefined;
  private readonly checkpoints: BackgroundCheckpoints | undefined;

  /** `db` is the Kysely instance openDatabase made; SQLite-specific code (tests) may use it. */
  constructor(
    readonly db: Db,
    options: SqliteStorageOptions = {},
  ) {
    ({
      jobs: this.jobs,
      changes: this.changes,
      tasks: this.tasks,
      flags: this.flags,
      lease: this.lease,
      failures: this.failures,
    } = stores(db));
    const file = options.file ?? databaseFile(db);
    const workers = options.statusWorkers ?? 0;
    this.workers = file && workers > 0 ? new StatusWorkers(file, workers) : undefined;
    this.status = cachedStatusReader(
      sqliteStatusSource(db, this.workers),
      new RenderedJobCache(options.statusCacheBytes),
    );
    this.checkpoints = options.checkpoints;
  }

  transaction<T>(work: (stores: Stores) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => work(stores(trx)));
  }

  openTransaction(): Promise<OpenTransaction> {
    return openTransaction(this.db, stores, 500);
  }

  async withWorkspaceLock<T>(
    _backend: string,
    _workspace: string,
    work: (stores: Stores) => Promise<T>,
  ): Promise<T> {
    // BEGIN IMMEDIATE takes SQLite's single write lock: stronger than a per-workspace lock, and enough.
    const result = await this.transaction(work);
    // Creates write megabytes: from the first one on, checkpoints run on their own thread.
    this.checkpoints?.start().catch(() => undefined);
    return result;
  }

  changeStamp(): string | undefined {
    return changeStamp(this.db);
  }

  /** Stops the status workers; the database stays open (tests that share one Db between apps). */
  async closeStatusWorkers(): Promise<void> {
    await this.workers?.close();
  }

  async close(): Promise<void> {
    try {
      await this.closeStatusWorkers();
      await this.checkpoints?.close();
    } finally {
      await this.db.destroy();
    }
  }
}
