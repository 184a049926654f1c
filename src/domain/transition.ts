/**
 * The one job status transition (reference/controller.md §2.2), pure: from a job's current status, a new code and
 * message and the time, the status it moves to. Create, cancel, the scheduler loop and the operator commands all go
 * through it; the caller writes the result with a guarded update (only if the job still has the status it was read
 * with), so a concurrent writer is detected rather than overwritten.
 *
 * - A new code moves the coarse state (running codes start the job once, final codes complete it, reset codes put
 *   it back to pending), stamps `updated_at` and `status_code_updated_at` with the agent's time when it gave one,
 *   and never lets a status end before it began (the clamp: 1 ms after the previous change).
 * - A cancel request (`cancelRequest`) marks the job and stamps its completion time; the scheduler's change to
 *   CANCELLED_BY_USER then keeps that time, as the reference does (§2.2, §7.8).
 * - The same code again is a heartbeat: `updated_at` moves at most once a minute, the message stays.
 */
import { StatusMessage } from "./messages.js";
import { isFinalCode, isResetCode, State, StatusCode } from "./status.js";
import { AGENT_CLOCK_LEEWAY_S, EARLIEST_AGENT_TIME_S } from "./task.js";

/** The columns a transition may change. Times: whole Unix seconds; statusCodeUpdatedAt: Unix nanoseconds. */
export interface JobStatus {
  state: State;
  statusCode: StatusCode;
  statusMessage: string | null;
  updatedAt: number;
  startedAt: number | null;
  completedAt: number | null;
  statusCodeUpdatedAt: number;
}

/** A job's status columns alone (to restore them after a change that did not happen). */
export function statusOf(job: JobStatus): JobStatus {
  const { state, statusCode, statusMessage, updatedAt, startedAt, completedAt, statusCodeUpdatedAt } = job;
  return { state, statusCode, statusMessage, updatedAt, startedAt, completedAt, statusCodeUpdatedAt };
}

export type Transition =
  /** Nothing to write (a heartbeat within the minute). */
  | { readonly kind: "unchanged" }
  /** Only updated_at moves. */
  | { readonly kind: "heartbeat"; readonly status: JobStatus }
  | {
      readonly kind: "changed";
      readonly status: JobStatus;
      readonly from: StatusCode;
      /** When the previous code began (ns): the span of the status being left runs from here to status's time. */
      readonly previousSinceNs: number;
      /** The agent's timestamp was earlier than the previous change and was moved forward. */
      readonly clamped: boolean;
    };

const STARTED_CODES: ReadonlySet<StatusCode> = new Set([
  StatusCode.Initiated,
  StatusCode.Preparing,
  StatusCode.Prepared,
  StatusCode.Executing,
]);

const HEARTBEAT_SECONDS = 60;
const CLAMP_NS = 1_000_000;

/**
 * The transition of `job` to `code` with `message` at `nowNs` (controller clock). `eventNs` is the agent's time of
 * the change when it reported one; it then stamps the change instead of `nowNs`.
 */
export function transition(
  job: JobStatus,
  code: StatusCode,
  message: string,
  nowNs: number,
  eventNs?: number | null,
): Transition {
  if (code === job.statusCode) return heartbeat(job, nowNs);

  let atNs = eventNs ?? nowNs;
  // A previous change stamped before 2000 or far ahead of this clock is a bad stored value (issue 14: an agent's
  // 1e300), not a time to keep after: the new change keeps its own time and the bad one is gone.
  const previousNs = job.statusCodeUpdatedAt;
  const previousIsTime =
    previousNs >= EARLIEST_AGENT_TIME_S * 1e9 && previousNs <= nowNs + AGENT_CLOCK_LEEWAY_S * 1e9;
  const clamped = previousIsTime && previousNs > atNs;
  if (clamped) atNs = previousNs + CLAMP_NS;
  const atS = Math.floor(atNs / 1e9);

  const status: JobStatus = {
    ...job,
    statusCode: code,
    statusMessage: message,
    updatedAt: atS,
    statusCodeUpdatedAt: atNs,
  };
  if (STARTED_CODES.has(code)) {
    status.state = State.Running;
    status.startedAt = job.startedAt ?? atS;
  } else if (code === StatusCode.CancelledByUser) {
    // The request's time stays the completion time (cancelRequest); a job cancelled without one completes now.
    status.state = State.Failed;
    status.completedAt = job.completedAt ?? atS;
  } else if (isFinalCode(code)) {
    status.completedAt = atS;
    status.state = code === StatusCode.Succeeded ? State.Succeeded : State.Failed;
  } else if (isResetCode(code)) {
    status.state = State.Pending;
    status.startedAt = null;
  }
  const previousSinceNs = previousIsTime ? previousNs : atNs;
  return { kind: "changed", status, from: job.statusCode, previousSinceNs, clamped };
}

/** What a cancel request writes on each unfinished job it names (reference §7.8): the mark, and its time. */
export interface CancelRequest {
  readonly cancelled: true;
  /** Unix seconds: the job's completion time from now on. */
  readonly completedAt: number;
}

export function cancelRequest(nowS: number): CancelRequest {
  return { cancelled: true, completedAt: Math.floor(nowS) };
}

/** When the same code again next writes a heartbeat (Unix seconds): until then it writes nothing. */
export function heartbeatDueS(job: Pick<JobStatus, "updatedAt">): number {
  return job.updatedAt + HEARTBEAT_SECONDS;
}

function heartbeat(job: JobStatus, nowNs: number): Transition {
  const nowS = Math.floor(nowNs / 1e9);
  if (nowS < heartbeatDueS(job)) return { kind: "unchanged" };
  return { kind: "heartbeat", status: { ...job, updatedAt: nowS } };
}

/**
 * A new message without a new code (ours: a job kept waiting for a reason the reference has no code for, such as an
 * unreachable image registry). The message changes at once; the same message again is a heartbeat.
 */
export function annotate(job: JobStatus, message: string, nowNs: number): Transition {
  if (message === job.statusMessage) return heartbeat(job, nowNs);
  return {
    kind: "heartbeat",
    status: { ...job, statusMessage: message, updatedAt: Math.floor(nowNs / 1e9) },
  };
}

/** The status of a job just created. */
export function createdStatus(nowMs: number): JobStatus {
  const seconds = Math.floor(nowMs / 1000);
  return {
    state: State.Pending,
    statusCode: StatusCode.Created,
    statusMessage: StatusMessage.Created,
    updatedAt: seconds,
    startedAt: null,
    completedAt: null,
    statusCodeUpdatedAt: Math.floor(nowMs) * 1_000_000,
  };
}

/** The stage an agent reports, as a status code; anything else (`unknown`, `error`, empty) keeps the current one. */
export function codeForStage(stage: string | null, current: StatusCode): StatusCode {
  switch (stage) {
    case StatusCode.Preparing:
    case StatusCode.Prepared:
    case StatusCode.Executing:
    case StatusCode.Executed:
    case StatusCode.Finalizing:
    case StatusCode.Finalized:
      return stage;
    default:
      return current;
  }
}
