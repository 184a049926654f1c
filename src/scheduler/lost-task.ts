/**
 * Whether a running job's RUNJOB task is lost (issue 14), so that nothing will ever move the job on and the
 * scheduler fails it rather than wait forever:
 * - gone: the task is no longer served to the agent (inactive) but never reported complete;
 * - silent: nothing heard about it for TASK_SILENCE_TIMEOUT while the backend's agent has been polling all along.
 *   An agent that stops polling (a backend down for maintenance) fails nothing, and the silence is counted from
 *   its return at the earliest: back from an outage, it reports on its running jobs again within a poll or two.
 */
import type { TaskProgress } from "../db/storage.js";
import { StatusMessage, taskSilentMessage } from "../domain/messages.js";

/** An agent not seen polling for this long is away: its tasks' silence starts again when it is back. */
const AGENT_AWAY_S = 120;

type TaskReport = Pick<TaskProgress, "active" | "agentComplete" | "agentUpdatedAt" | "createdAt">;

/** The message to fail the job with, or null while the task may still report (pure). */
export function lostTaskMessage(
  task: TaskReport,
  agentPollingSince: number | null,
  nowS: number,
  silenceTimeoutS: number,
): string | null {
  if (task.agentComplete) return null;
  if (!task.active) return StatusMessage.TaskLost;
  const silent = silentAtS(task, agentPollingSince, silenceTimeoutS);
  return silent !== null && nowS >= silent ? taskSilentMessage(silenceTimeoutS) : null;
}

/**
 * When an active task that has not completed counts as silent (Unix seconds), if nothing is heard of it before;
 * null while its agent is not polling (pure).
 */
export function silentAtS(
  task: TaskReport,
  agentPollingSince: number | null,
  silenceTimeoutS: number,
): number | null {
  if (task.agentComplete || !task.active || agentPollingSince === null) return null;
  return Math.max(task.agentUpdatedAt ?? task.createdAt, agentPollingSince) + silenceTimeoutS;
}

/**
 * Since when each backend's agent has been polling without a gap, from the last-seen-at flag as each pass reads
 * it. Kept by the scheduler in memory: a restarted controller starts counting afresh, which only delays a failure.
 */
export class AgentPresence {
  private readonly since = new Map<string, number>();

  observe(backend: string, lastSeenAt: number | null, nowS: number): void {
    if (lastSeenAt === null || nowS - lastSeenAt > AGENT_AWAY_S) this.since.delete(backend);
    else if (!this.since.has(backend)) this.since.set(backend, nowS);
  }

  pollingSince(backend: string): number | null {
    return this.since.get(backend) ?? null;
  }
}
