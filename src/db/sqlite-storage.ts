/**
 * Storage (src/db/storage.ts) over SQLite through Kysely. Transactions are `BEGIN IMMEDIATE` (src/db/sqlite/connection.ts):
 * they take the write lock up front, which is also what makes `withWorkspaceLock` exclusive (one writer at a time,
 * across processes).
 */
import type { Db } from "./index.js";
import { changeStamp, databaseFile } from "./index.js";
import { getFlag, getFlags, setFlag } from "./queries/flags.js";
import {
  actionsOfRap,
  applyStatus,
  cancelUnfinishedJobs,
  existingRap,
  getJob,
  insertJobs,
  jobsForRaps,
  listJobs,
  runningJobs,
  workspaceState,
} from "./queries/jobs.js";
import {
  acquireLease,
  clearHandlingFailures,
  handlingFailures,
  recordHandlingFailure,
  releaseLease,
  renewLease,
} from "./queries/scheduling.js";
import {
  activeTaskIdsOfType,
  activeTasksText,
  deactivateTask,
  getTask,
  insertScheduledTask,
  insertTask,
  lastFinishedOfType,
  recordAgentUpdate,
} from "./queries/tasks.js";
import { flagsReader } from "./sqlite/backend-flags.js";
import { activeJobs, jobStates, latestJobByAction, runJobTasksOf } from "./sqlite/scheduler-reads.js";
import { sqliteStatusReader } from "./sqlite/status-reader.js";
import { StatusWorkers } from "./sqlite/status-workers.js";
import type {
  FlagStore,
  HandlingFailureStore,
  JobStore,
  LeaseStore,
  StatusReader,
  Storage,
  Stores,
  TaskStore,
} from "./storage.js";

function jobStore(db: Db): JobStore {
  return {
    insert: (jobs) => insertJobs(db, jobs),
    get: (id) => getJob(db, id),
    list: (filter) => listJobs(db, filter),
    existingRap: (rapId) => existingRap(db, rapId),
    workspaceState: (backend, workspace) => workspaceState(db, backend, workspace),
    latestJobByAction: (backend, workspace) => latestJobByAction(db, backend, workspace),
    actionsOfRap: (rapId, backends) => actionsOfRap(db, rapId, backends),
    markCancelled: (rapId, actions, backends, request) =>
      cancelUnfinishedJobs(db, rapId, actions, backends, request),
    forRaps: (rapIds, backends) => jobsForRaps(db, rapIds, backends),
    active: (known) => activeJobs(db, known),
    running: (backend) => runningJobs(db, backend),
    states: (ids) => jobStates(db, ids),
    applyStatus: (id, expected, status) => applyStatus(db, id, expected, status),
  };
}

function taskStore(db: Db): TaskStore {
  return {
    insert: (task) => insertTask(db, task),
    insertScheduled: (task) => insertScheduledTask(db, task),
    get: (id) => getTask(db, id),
    runJobTasksOf: (jobIds) => runJobTasksOf(db, jobIds),
    activeText: (backend) => activeTasksText(db, backend),
    activeIdsOfType: (backend, type) => activeTaskIdsOfType(db, backend, type),
    lastFinishedOfType: (backend, type) => lastFinishedOfType(db, backend, type),
    deactivate: (id, finishedAt) => deactivateTask(db, id, finishedAt),
    recordAgentUpdate: (backend, id, update, now) => recordAgentUpdate(db, backend, id, update, now),
  };
}

function flagStore(db: Db): FlagStore {
  return {
    get: (backend, id) => getFlag(db, backend, id),
    list: (backend, ids) => getFlags(db, backend, ids),
    all: () => db.selectFrom("flags").selectAll().execute(),
    set: (backend, id, value, timestamp) => setFlag(db, backend, id, value, timestamp),
    reader: (ids) => flagsReader(db, ids),
  };
}

function leaseStore(db: Db): LeaseStore {
  return {
    acquire: (holder, nowMs, ttlMs) => acquireLease(db, holder, nowMs, ttlMs),
    renew: (holder, nowMs, ttlMs) => renewLease(db, holder, nowMs, ttlMs),
    release: (holder) => releaseLease(db, holder),
  };
}

function failureStore(db: Db): HandlingFailureStore {
  return {
    all: () => handlingFailures(db),
    record: (jobId) => recordHandlingFailure(db, jobId),
    clear: (jobIds) => clearHandlingFailures(db, jobIds),
  };
}

function stores(db: Db): Stores {
  return {
    jobs: jobStore(db),
    tasks: taskStore(db),
    flags: flagStore(db),
    lease: leaseStore(db),
    failures: failureStore(db),
  };
}

export interface SqliteStorageOptions {
  /** Worker threads for large rap/status answers, each with its own connection (default 0: none). */
  statusWorkers?: number;
  /** The file the workers open; by default the one openDatabase opened for `db` (none for `:memory:`). */
  file?: string;
}

export class SqliteStorage implements Storage {
  readonly jobs: JobStore;
  readonly tasks: TaskStore;
  readonly flags: FlagStore;
  readonly lease: LeaseStore;
  readonly failures: HandlingFailureStore;
  readonly status: StatusReader;
  private readonly workers: StatusWorkers | undefined;

  /** `db` is the Kysely instance openDatabase made; SQLite-specific code (tests) may use it. */
  constructor(
    readonly db: Db,
    options: SqliteStorageOptions = {},
  ) {
    ({
      jobs: this.jobs,
      tasks: this.tasks,
      flags: this.flags,
      lease: this.lease,
      failures: this.failures,
    } = stores(db));
    const file = options.file ?? databaseFile(db);
    const workers = options.statusWorkers ?? 0;
    this.workers = file && workers > 0 ? new StatusWorkers(file, workers) : undefined;
    this.status = sqliteStatusReader(db, this.workers);
  }

  transaction<T>(work: (stores: Stores) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => work(stores(trx)));
  }

  withWorkspaceLock<T>(
    _backend: string,
    _workspace: string,
    work: (stores: Stores) => Promise<T>,
  ): Promise<T> {
    // BEGIN IMMEDIATE takes SQLite's single write lock: stronger than a per-workspace lock, and enough.
    return this.transaction(work);
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
    } finally {
      await this.db.destroy();
    }
  }
}
