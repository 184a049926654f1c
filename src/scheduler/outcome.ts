/**
 * What a completed RUNJOB task means for its job (reference/controller.md §2.6, §1.7), pure: the agent's results →
 * the job's next code and message.
 */
import { DATABASE_EXIT_CODES, StatusMessage } from "../domain/messages.js";
import { StatusCode } from "../domain/status.js";

export type TaskOutcome =
  | { readonly kind: "final"; readonly code: StatusCode; readonly message: string }
  /** The agent failed to run the task (not the job failing): run it again with a new task, or give up. */
  | { readonly kind: "agent-error"; readonly fatal: boolean };

/** Python's int() of the exit code the agent sent (a string or number); null when it is not one. */
export function parseExitCode(value: unknown): number | null {
  if (typeof value === "number") return Number.isInteger(value) ? value : null;
  if (typeof value !== "string") return null;
  const text = value.trim().replaceAll("_", "");
  return /^[-+]?\d+$/.test(text) ? Number(text) : null;
}

/** Python truthiness of a JSON value. */
function truthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === "") return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === "object") return Object.keys(value).length > 0;
  return true;
}

/**
 * Kept for compatibility with the reference's test agents and black-box checks: an agent error whose text
 * contains `test_job_failure` is fatal (JOB_ERROR) instead of being retried.
 */
const FATAL_MARKER = "test_job_failure";

export function outcomeOf(results: Record<string, unknown>, requiresDb: boolean): TaskOutcome {
  if (truthy(results.error)) {
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
  if (truthy(results.has_unmatched_patterns))
    return { kind: "final", code: StatusCode.UnmatchedPatterns, message: StatusMessage.UnmatchedPatterns };
  const message = truthy(results.has_level4_excluded_files)
    ? StatusMessage.SucceededWithExclusions
    : StatusMessage.Succeeded;
  return { kind: "final", code: StatusCode.Succeeded, message };
}
