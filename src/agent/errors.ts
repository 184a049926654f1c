/**
 * The agent's own errors. `permanent` errors cannot go away by trying again (an archived workspace, a missing
 * input file, an unsafe name): the loop reports them to the controller at once instead of retrying them.
 */

export class AgentError extends Error {
  readonly code: string = "AGENT_ERROR";
  readonly permanent: boolean = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A name from a task that would make a path outside its directory (DESIGN DECISIONS 15). */
export class UnsafePathError extends AgentError {
  override readonly code = "UNSAFE_PATH";
  override readonly permanent = true;
}

/** The workspace was archived; the reference's message, exactly. */
export class ArchivedWorkspaceError extends AgentError {
  override readonly code = "WORKSPACE_ARCHIVED";
  override readonly permanent = true;
  constructor(workspace: string) {
    super(`Workspace ${workspace} has been archived. Contact the OpenSAFELY tech team to resolve`);
  }
}

/** Preparing a job failed for a reason in the job's inputs (missing input file, bad commit). */
export class JobPreparationError extends AgentError {
  override readonly code = "JOB_PREPARATION_FAILED";
  override readonly permanent = true;
}

/** A database job names a database this backend has no URL for. */
export class UnknownDatabaseError extends AgentError {
  override readonly code = "UNKNOWN_DATABASE";
  override readonly permanent = true;
  constructor(name: string | null, backend: string) {
    super(`Database name '${name}' is not currently defined for backend '${backend}'`);
  }
}

/** The agent's state on disk contradicts itself (two metadata files for one job, …). */
export class AgentStateError extends AgentError {
  override readonly code = "AGENT_STATE_INVALID";
}

/** The error's class name (what the reference reports as `exception`), whether or not the class set `name`. */
export function errorClassName(error: Error): string {
  return error.name !== "Error" ? error.name : error.constructor.name;
}

/** `{class}: {message}` for a log line, so an error class that never set `name` is still told apart. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${errorClassName(error)}: ${error.message}` : String(error);
}
