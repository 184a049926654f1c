/**
 * Storage (src/db/storage.ts) over PostgreSQL through `pg` and Kysely. Transactions are READ COMMITTED; the
 * per-workspace create lock is a transaction-scoped advisory lock, so creates for other workspaces run alongside.
 * The scheduler lease is the same lease row as SQLite's, written in the pass's transaction (queries/scheduling.ts).
 */
import { sql } from "kysely";
import type { Db } from "./index.js";
import { openTransaction } from "./open-transaction.js";
import { insertJobs } from "./postgres/insert-jobs.js";
import {
  activeJobs,
  changeMark,
  jobStates,
  jobsChangedSince,
  runJobTasksChangedSince,
  runJobTasksOf,
} from "./postgres/scheduler-reads.js";
import { postgresStatusSource } from "./postgres/status-source.js";
import { applyStatuses } from "./postgres/status-writes.js";
import { flagsReader } from "./queries/flags.js";
import { latestJobByAction } from "./queries/jobs.js";
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

/** PostgreSQL's own insert of jobs and hot reads (./postgres/); latestJobByAction and flagsReader are the portable queries SQLite uses too. */
const POSTGRES_QUERIES: DialectQueries = {
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

export class PostgresStorage implements Storage {
  readonly jobs: JobStore;
  readonly changes: ChangeFeed;
  readonly tasks: TaskStore;
  readonly flags: FlagStore;
  readonly lease: LeaseStore;
  readonly failures: HandlingFailureStore;
  readonly status: StatusReader;

  /**
   * `db` is a Kysely instance on PostgreSQL (./postgres/connection.ts); this storage closes it. `statusStatements`:
   * how many statements a large rap/status request is divided into, run at once on pooled connections (default 1);
   * `statusCacheBytes`: what rap/status keeps of jobs' printed JSON between requests (src/db/status/job-cache.ts).
   */
  constructor(
    readonly db: Db,
    options: { statusStatements?: number; statusCacheBytes?: number } = {},
  ) {
    ({
      jobs: this.jobs,
      changes: this.changes,
      tasks: this.tasks,
      flags: this.flags,
      lease: this.lease,
      failures: this.failures,
    } = storesOn(db, POSTGRES_QUERIES));
    this.status = cachedStatusReader(
      postgresStatusSource(db, options.statusStatements),
      new RenderedJobCache(options.statusCacheBytes),
    );
  }

  transaction<T>(work: (stores: Stores) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => work(storesOn(trx, POSTGRES_QUERIES)));
  }

  openTransaction(): Promise<OpenTransaction> {
    // Under the 64 subtransaction ids a transaction keeps in memory (OpenTransaction.maxSteps).
    return openTransaction(this.db, (db) => storesOn(db, POSTGRES_QUERIES), 50);
  }

  withWorkspaceLock<T>(backend: string, workspace: string, work: (stores: Stores) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(async (trx) => {
      // Held until the transaction ends, by whichever process: creates for one workspace queue here. Backend names
      // have no "/" (config), so the key names one workspace of one backend.
      await sql`select pg_advisory_xact_lock(hashtextextended(${`${backend}/${workspace}`}, 0))`.execute(trx);
      return work(storesOn(trx, POSTGRES_QUERIES));
    });
  }

  /** Undefined: another process's write cannot be told from here, so nothing computed from the database is kept. */
  changeStamp(): string | undefined {
    return undefined;
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
