/**
 * What a completed RUNJOB task means for its job (reference/controller.md §2.6, §1.7), pure: the agent's results →
 * the job's next code and message.
 */
import { DATABASE_EXIT_CODES, StatusMessage } from "../domain/messages.js";
import { StatusCode } from "../domain/status.js";
import { pyInt } from "../python/convert.js";
import { pyTruthy } from "../python/truth.js";

export type TaskOutcome =
  | { readonly kind: "final"; readonly code: StatusCode; readonly message: string }
  /** The agent failed to run the task (not the job failing): run it again with a new task, or give up. */
  | { readonly kind: "agent-error"; readonly fatal: boolean };

/** Python's int() of the exit code the agent sent (a string or number); null when it is not one. */
export function parseExitCode(value: unknown): number | null {
  return pyInt(value) ?? null;
}

/**
 * Kept for compatibility with the reference's test agents and black-box checks: an agent error whose text
 * contains `test_job_failure` is fatal (JOB_ERROR) instead of being retried.
 */
const FATAL_MARKER = "test_job_failure";

export function outcomeOf(results: Record<string, unknown>, requiresDb: boolean): TaskOutcome {
  if (pyTruthy(results.error)) {
    return { kind: "agent-error", fatal: JSON.stringify(results.error).includes(FATAL_MARKER) };
  }
  const exitCode = parseExitCode(results.exit_code);
  if (exitCode !== 0) {
    const agentMessage = typeof results.status_message === "string" ? results.status_message : "";
    const databaseMessage = requiresDb && exitCode !== null ? DATABASE_EXIT_CODES[exitCode] : undefined;
    const detail = agentMessage || databaseMessage;
    const message = detail ? `${StatusMessage.NonzeroExit}: ${detail}` : StatusMessage.NonzeroExit;
    return { kind: "final", code: StatusCode.NonzeroExit, message };
  }
  if (pyTruthy(results.has_unmatched_patterns))
    return { kind: "final", code: StatusCode.UnmatchedPatterns, message: StatusMessage.UnmatchedPatterns };
  const message = pyTruthy(results.has_level4_excluded_files)
    ? StatusMessage.SucceededWithExclusions
    : StatusMessage.Succeeded;
  return { kind: "final", code: StatusCode.Succeeded, message };
}
