/**
 * Storage (src/db/storage.ts) over SQLite through Kysely. Transactions are `BEGIN IMMEDIATE` (src/db/sqlite.ts):
 * they take the write lock up front, which is also what makes `withWorkspaceLock` exclusive (one writer at a time,
 * across processes).
 */
import type { Db } from "./index.js";
import { changeStamp } from "./index.js";
import { flagsReader } from "./queries/backend-flags.js";
import { getFlag, getFlags, setFlag } from "./queries/flags.js";
import {
  actionsOfRap,
  activeJobs,
  applyStatus,
  cancelUnfinishedJobs,
  existingRap,
  getJob,
  insertJobs,
  jobStates,
  jobsForRaps,
  latestJobByAction,
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
  runJobTasksOf,
} from "./queries/tasks.js";
import type {
  FlagStore,
  HandlingFailureStore,
  JobStore,
  LeaseStore,
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

export class SqliteStorage implements Storage {
  readonly jobs: JobStore;
  readonly tasks: TaskStore;
  readonly flags: FlagStore;
  readonly lease: LeaseStore;
  readonly failures: HandlingFailureStore;

  /** `db` is the Kysely instance openDatabase made; SQLite-specific code (status workers, tests) may use it. */
  constructor(readonly db: Db) {
    ({
      jobs: this.jobs,
      tasks: this.tasks,
      flags: this.flags,
      lease: this.lease,
      failures: this.failures,
    } = stores(db));
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

  close(): Promise<void> {
    return this.db.destroy();
  }
}
