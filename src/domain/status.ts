/** The coarse job state: whether the scheduler still handles the job, and how it ended. */
export const State = {
  Pending: "pending",
  Running: "running",
  Failed: "failed",
  Succeeded: "succeeded",
} as const;
export type State = (typeof State)[keyof typeof State];

/** Whether the scheduler still handles a job in this state (pending or running) rather than it having finished. */
export function isActiveState(state: State): boolean {
  return state === State.Pending || state === State.Running;
}

/**
 * The fine-grained job status code. Definition order matters: the reference compares codes by position, so keep
 * this object in the reference's order (pending codes, running codes, success, failure codes).
 */
export const StatusCode = {
  // pending
  Created: "created",
  Initiated: "initiated",
  WaitingPaused: "paused",
  WaitingDbMaintenance: "waiting_db_maintenance",
  WaitingOnDependencies: "waiting_on_dependencies",
  WaitingOnWorkers: "waiting_on_workers",
  WaitingOnDbWorkers: "waiting_on_db_workers",
  WaitingOnReboot: "waiting_on_reboot",
  WaitingOnNewTask: "waiting_on_new_task",
  // running
  Preparing: "preparing",
  Prepared: "prepared",
  Executing: "executing",
  Executed: "executed",
  Finalizing: "finalizing",
  Finalized: "finalized",
  // success
  Succeeded: "succeeded",
  // failure
  DependencyFailed: "dependency_failed",
  NonzeroExit: "nonzero_exit",
  CancelledByUser: "cancelled_by_user",
  UnmatchedPatterns: "unmatched_patterns",
  InternalError: "internal_error",
  KilledByAdmin: "killed_by_admin",
  StaleCodelists: "stale_codelists",
  JobError: "job_error",
} as const;
export type StatusCode = (typeof StatusCode)[keyof typeof StatusCode];

const FINAL_CODES: ReadonlySet<StatusCode> = new Set([
  StatusCode.Succeeded,
  StatusCode.DependencyFailed,
  StatusCode.NonzeroExit,
  StatusCode.CancelledByUser,
  StatusCode.UnmatchedPatterns,
  StatusCode.InternalError,
  StatusCode.KilledByAdmin,
  StatusCode.StaleCodelists,
  StatusCode.JobError,
]);

/** Codes that put a job back to pending (its started_at is cleared). */
const RESET_CODES: ReadonlySet<StatusCode> = new Set([
  StatusCode.WaitingOnReboot,
  StatusCode.WaitingDbMaintenance,
  StatusCode.WaitingOnNewTask,
]);

export function isFinalCode(code: StatusCode): boolean {
  return FINAL_CODES.has(code);
}

export function isResetCode(code: StatusCode): boolean {
  return RESET_CODES.has(code);
}

const ALL_CODES: ReadonlySet<string> = new Set(Object.values(StatusCode));

export function isStatusCode(value: string): value is StatusCode {
  return ALL_CODES.has(value);
}
