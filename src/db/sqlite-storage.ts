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
  activeTaskIdsOfType,
  activeTasksText,
  deactivateTask,
  getTask,
  insertTask,
  lastFinishedOfType,
  recordAgentUpdate,
  runJobTasksOf,
} from "./queries/tasks.js";
import type { FlagStore, JobStore, Storage, Stores, TaskStore } from "./storage.js";

function jobStore(db: Db): JobStore {
  return {
    insert: (jobs) => insertJobs(db, jobs),
    get: (id) => getJob(db, id),
    list: (filter) => listJobs(db, filter),
    existingRap: (rapId) => existingRap(db, rapId),
    workspaceState: (backend, workspace) => workspaceState(db, backend, workspace),
    latestJobByAction: (backend, workspace) => latestJobByAction(db, backend, workspace),
    actionsOfRap: (rapId, backends) => actionsOfRap(db, rapId, backends),
    markCancelled: (rapId, actions, backends, now) => cancelUnfinishedJobs(db, rapId, actions, backends, now),
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

function stores(db: Db): Stores {
  return { jobs: jobStore(db), tasks: taskStore(db), flags: flagStore(db) };
}

export class SqliteStorage implements Storage {
  readonly jobs: JobStore;
  readonly tasks: TaskStore;
  readonly flags: FlagStore;

  /** `db` is the Kysely instance openDatabase made; SQLite-specific code (status workers, tests) may use it. */
  constructor(readonly db: Db) {
    ({ jobs: this.jobs, tasks: this.tasks, flags: this.flags } = stores(db));
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
