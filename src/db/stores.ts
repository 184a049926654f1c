/**
 * The storage roles (./storage.ts) over one Kysely instance, shared by every dialect: the portable queries of
 * queries/, and the few hot reads each dialect writes in its own form (sqlite/, postgres/), passed in as `HotReads`.
 */
import type { FlagValue } from "../domain/flags.js";
import type { Job } from "../domain/job.js";
import type { State } from "../domain/status.js";
import type { Db } from "./index.js";
import { type ChangeReads, readChanges } from "./queries/active-jobs.js";
import { getFlag, getFlags, setFlag } from "./queries/flags.js";
import {
  actionsOfRap,
  activeJobCounts,
  applyStatus,
  cancelUnfinishedJobs,
  existingRap,
  getJob,
  jobsForRaps,
  listJobs,
  runningJobs,
  workspaceState,
} from "./queries/jobs.js";
import {
  acquireLease,
  clearHandlingFailures,
  handlingFailures,
  readLease,
  recordHandlingFailure,
  releaseLease,
  renewLease,
} from "./queries/scheduling.js";
import type { GuardedStatus } from "./queries/status-writes.js";
import {
  activeTaskIdsOfType,
  activeTasksStamp,
  activeTasksText,
  deactivateTask,
  getTask,
  insertScheduledTask,
  insertTask,
  lastFinishedOfType,
  recordAgentUpdate,
  type TaskProgress,
} from "./queries/tasks.js";
import type { Stores } from "./storage.js";

/**
 * The statements a dialect writes in its own SQL: the scheduler's reads, every pass, the backend/status flags, and
 * the insert of a create's jobs.
 */
export interface DialectQueries extends ChangeReads<Db> {
  insertJobs(db: Db, jobs: readonly Job[]): Promise<void>;
  applyStatuses(db: Db, writes: readonly GuardedStatus[]): Promise<Set<string>>;
  jobStates(db: Db, ids: readonly string[]): Promise<Map<string, State>>;
  latestJobByAction(
    db: Db,
    backend: string,
    workspace: string,
    actions: readonly string[],
  ): Promise<Map<string, string>>;
  flagsReader(db: Db, ids: readonly string[]): () => Promise<readonly FlagValue[]>;
}

/** Tasks (each job's in order) by job. */
function byJob(tasks: readonly TaskProgress[]): Map<string, TaskProgress[]> {
  const map = new Map<string, TaskProgress[]>();
  for (const task of tasks) {
    const list = map.get(task.jobId!);
    if (list) list.push(task);
    else map.set(task.jobId!, [task]);
  }
  return map;
}

/** Every store bound to `db` (the database, or one transaction of it). */
export function storesOn(db: Db, hot: DialectQueries): Stores {
  return {
    jobs: {
      insert: (jobs) => hot.insertJobs(db, jobs),
      get: (id) => getJob(db, id),
      list: (filter) => listJobs(db, filter),
      existingRap: (rapId) => existingRap(db, rapId),
      workspaceState: (backend, workspace) => workspaceState(db, backend, workspace),
      latestJobByAction: (backend, workspace, actions) =>
        hot.latestJobByAction(db, backend, workspace, actions),
      actionsOfRap: (rapId, backends) => actionsOfRap(db, rapId, backends),
      markCancelled: (rapId, actions, backends, request) =>
        cancelUnfinishedJobs(db, rapId, actions, backends, request),
      forRaps: (rapIds, backends) => jobsForRaps(db, rapIds, backends),
      active: async () => (await hot.activeJobs(db)).map(({ job }) => job),
      running: (backend) => runningJobs(db, backend),
      activeCounts: () => activeJobCounts(db),
      states: (ids) => hot.jobStates(db, ids),
      applyStatus: (id, expected, status) => applyStatus(db, id, expected, status),
      applyStatuses: (writes) => hot.applyStatuses(db, writes),
    },
    changes: { read: (since) => readChanges(hot, db, since) },
    tasks: {
      insert: (task) => insertTask(db, task),
      insertScheduled: (task) => insertScheduledTask(db, task),
      get: (id) => getTask(db, id),
      runJobTasksOf: async (jobIds) => byJob(await hot.runJobTasksOf(db, jobIds)),
      activeText: (backend) => activeTasksText(db, backend),
      activeStamp: (backend) => activeTasksStamp(db, backend),
      activeIdsOfType: (backend, type) => activeTaskIdsOfType(db, backend, type),
      lastFinishedOfType: (backend, type) => lastFinishedOfType(db, backend, type),
      deactivate: (id, finishedAt) => deactivateTask(db, id, finishedAt),
      recordAgentUpdate: (backend, id, update, now) => recordAgentUpdate(db, backend, id, update, now),
    },
    flags: {
      get: (backend, id) => getFlag(db, backend, id),
      list: (backend, ids) => getFlags(db, backend, ids),
      all: () => db.selectFrom("flags").selectAll().execute(),
      set: (backend, id, value, timestamp) => setFlag(db, backend, id, value, timestamp),
      reader: (ids) => hot.flagsReader(db, ids),
    },
    lease: {
      acquire: (holder, nowMs, ttlMs) => acquireLease(db, holder, nowMs, ttlMs),
      renew: (holder, nowMs, ttlMs) => renewLease(db, holder, nowMs, ttlMs),
      release: (holder) => releaseLease(db, holder),
      current: () => readLease(db),
    },
    failures: {
      all: () => handlingFailures(db),
      record: (jobId) => recordHandlingFailure(db, jobId),
      clear: (jobIds) => clearHandlingFailures(db, jobIds),
    },
  };
}
