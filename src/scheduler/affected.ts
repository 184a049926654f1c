/**
 * Which active jobs a pass handles (issue 18). Handling a job depends on nothing but the job, its RUNJOB tasks, the
 * states of the jobs it waits on, its backend's flags (paused, database maintenance), whether that backend's agent
 * is polling, the backend's workers in use, the configuration and the clock. A job handled once since its last
 * write, and left as it was, is left as it is again unless one of those moved. So a pass handles only:
 *
 * - the jobs written since the last pass, or whose tasks were (the ChangeFeed's answer, src/scheduler/active-set.ts;
 *   a pass's own writes come back in the next one, so a job is handled again after every change it gets);
 * - the jobs waiting on one of those (its state may have changed since, or may change in this very pass);
 * - every job of a backend whose flags or agent's presence changed;
 * - the jobs waiting for a worker on a backend where a written job may free one: it left the active jobs, is not
 *   running (finished, or pending again), is cancelled, or its task has completed or been stopped;
 * - the jobs whose time has come: a heartbeat, a task's silence (`dueAtS`).
 *
 * Every job, after a full read (a new lease term, a failed pass) and after a pass in which a job's handling failed
 * or must be tried again: the scheduler decides that, this module only the rest (pure).
 */
import type { TaskProgress } from "../db/storage.js";
import type { Job } from "../domain/job.js";
import { State } from "../domain/status.js";
import { heartbeatDueS } from "../domain/transition.js";
import { type JobIndex, workspaceKey } from "./job-index.js";
import { type AgentPresence, silentAtS } from "./lost-task.js";
import type { PassContext } from "./pass-context.js";

/** The backends' flags and agents' presence as handling uses them, one value per backend to compare. */
export function handlingInputs(
  backends: readonly string[],
  flagsOf: PassContext["flagsOf"],
  agents: Pick<AgentPresence, "pollingSince">,
): Map<string, string> {
  return new Map(
    backends.map((backend) => {
      const flags = flagsOf(backend);
      return [backend, `${flags.paused}:${flags.dbMaintenance}:${agents.pollingSince(backend)}`];
    }),
  );
}

/** The backends whose inputs differ between two passes' handlingInputs (every one when there was no earlier pass). */
export function changedBackends(
  before: ReadonlyMap<string, string> | undefined,
  now: ReadonlyMap<string, string>,
): Set<string> {
  return new Set([...now].filter(([backend, inputs]) => before?.get(backend) !== inputs).map(([b]) => b));
}

/**
 * The time (Unix seconds) at which handling the job, unchanged, would change it: its heartbeat (a waiting job's
 * updated_at moves once a minute), or, running, its task turning silent.
 */
export function dueAtS(
  job: Job,
  context: Pick<PassContext, "latestTask">,
  agents: Pick<AgentPresence, "pollingSince">,
  silenceTimeoutS: number,
): number {
  const heartbeat = heartbeatDueS(job);
  if (job.state !== State.Running) return heartbeat;
  const task = context.latestTask(job);
  const silent = task ? silentAtS(task, agents.pollingSince(job.backend), silenceTimeoutS) : null;
  return silent === null ? heartbeat : Math.min(heartbeat, silent);
}

export interface AffectedInput {
  /** The active jobs, indexed. */
  index: Pick<
    JobIndex,
    "job" | "dependantsOf" | "jobsOf" | "waitingForWorkersOn" | "runningIn" | "inInsertionOrder"
  >;
  /** The jobs written since the last pass, or whose tasks were (active or not), and their backends. */
  written: ReadonlyMap<string, string>;
  /** Backends whose flags or agent's presence changed since the last pass. */
  changedBackends: ReadonlySet<string>;
  /** The active jobs whose time has come (dueAtS has passed). */
  due: readonly Job[];
  /** The job's latest RUNJOB task. */
  latestTask(job: Job): TaskProgress | undefined;
}

export interface Affected {
  /** The jobs to handle, in insertion order. */
  jobs: Job[];
  /**
   * By workspace (`backend\nworkspace`, of the jobs to handle), the running jobs not handled: they count as running
   * this pass in the handling order (src/scheduler/order.ts), as they would had the pass handled them.
   */
  runningElsewhere: Map<string, number>;
}

/** Whether a job written since the last pass may free a worker (by this pass's end). */
function mayFreeWorker(job: Job | undefined, latestTask: AffectedInput["latestTask"]): boolean {
  if (job === undefined || job.state !== State.Running || job.cancelled) return true;
  // A task ends inactive: completed (the agent's last report), or stopped by the controller.
  const task = latestTask(job);
  return task === undefined || !task.active;
}

/** The jobs to handle, found through the index: what it costs grows with them, not with the active jobs. */
export function affectedJobs({ index, written, changedBackends, due, latestTask }: AffectedInput): Affected {
  const ids = new Set(due.map((job) => job.id));
  // Where a worker may be freed: by a job written, or due (a silent task fails it).
  const freeing = new Set(due.map((job) => job.backend));
  for (const [id, backend] of written) {
    const job = index.job(id);
    if (job) ids.add(id);
    for (const dependant of index.dependantsOf(id)) ids.add(dependant);
    if (mayFreeWorker(job, latestTask)) freeing.add(backend);
  }
  for (const backend of changedBackends) for (const id of index.jobsOf(backend)) ids.add(id);
  for (const backend of freeing) for (const id of index.waitingForWorkersOn(backend)) ids.add(id);
  const jobs = index.inInsertionOrder(ids);
  const runningElsewhere = new Map<string, number>();
  for (const job of jobs) {
    const workspace = workspaceKey(job);
    const running = index.runningIn(workspace);
    const elsewhere = runningElsewhere.get(workspace) ?? running.size;
    runningElsewhere.set(workspace, running.has(job.id) ? elsewhere - 1 : elsewhere);
  }
  return { jobs, runningElsewhere };
}
