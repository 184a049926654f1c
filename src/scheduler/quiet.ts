/**
 * When a pass may leave every job alone (issue 18). Handling a job depends on nothing but the job, its RUNJOB tasks,
 * the states of the jobs it waits on, its backend's flags (paused, database maintenance) and workers in use, whether
 * that backend's agent is polling, the configuration and the clock. So after a pass that handled every job and left
 * them as they were (none failed, none to try again), a pass that finds none of these changed before any job's time
 * falls due would change nothing either, and skips the handling. Whatever a pass writes comes back in the next read
 * of what changed (src/scheduler/active-set.ts), so the pass after one that wrote always handles every job.
 */
import type { Job } from "../domain/job.js";
import { State } from "../domain/status.js";
import { heartbeatDueS } from "../domain/transition.js";
import { type AgentPresence, silentAtS } from "./lost-task.js";
import type { PassContext } from "./pass-context.js";

/** What a pass that changed nothing saw: a later pass that sees the same before `untilS` may skip the handling. */
export interface Settled {
  inputs: string;
  /** Unix seconds: a heartbeat or a task's silence falls due then (nextDueS). */
  untilS: number;
}

/** The backends' flags and agents' presence as handling uses them, as one value to compare (pure). */
export function handlingInputs(
  backends: readonly string[],
  flagsOf: PassContext["flagsOf"],
  agents: Pick<AgentPresence, "pollingSince">,
): string {
  return backends
    .map((backend) => {
      const flags = flagsOf(backend);
      return `${backend}:${flags.paused}:${flags.dbMaintenance}:${agents.pollingSince(backend)}`;
    })
    .join(" ");
}

/**
 * The earliest time (Unix seconds) at which handling jobs that did not change would change one: a waiting job's
 * heartbeat (its updated_at moves once a minute), or a running job's task turning silent (pure).
 */
export function nextDueS(
  jobs: readonly Job[],
  context: Pick<PassContext, "latestTask">,
  agents: Pick<AgentPresence, "pollingSince">,
  silenceTimeoutS: number,
): number {
  let due = Number.POSITIVE_INFINITY;
  for (const job of jobs) {
    due = Math.min(due, heartbeatDueS(job));
    if (job.state !== State.Running) continue;
    const task = context.latestTask(job);
    const silent = task ? silentAtS(task, agents.pollingSince(job.backend), silenceTimeoutS) : null;
    if (silent !== null) due = Math.min(due, silent);
  }
  return due;
}
