import { RefusalError } from "../domain/errors.js";
import { ProjectValidationError } from "../pipeline/index.js";

/**
 * Errors of the create pipeline. Each has a stable `code`; the API maps them to responses in one place
 * (src/http). Messages are the reference's texts, shown to researchers as they are.
 */

/** The request itself is not acceptable (bad workspace, backend, database, stale codelists …). */
export class RapCreateRequestError extends RefusalError {
  readonly code: string = "RAP_CREATE_REQUEST_INVALID";
}

export class StaleCodelistError extends RapCreateRequestError {
  override readonly code = "STALE_CODELISTS";
}

/** An action name or output pattern that cannot safely become a path (DESIGN DECISIONS 15). */
export class UnsafeNameError extends RapCreateRequestError {}

/** A job's run_command would be longer than MAX_RUN_COMMAND_BYTES (DESIGN DECISIONS 16). */
export class RunCommandTooLongError extends RapCreateRequestError {}

/** Nothing new to run: answered with 200 "Nothing to do", not an error for the client. */
export class NothingToDoError extends Error {
  readonly code = "NOTHING_TO_DO";
}

/** A reusable action could not be resolved or is not acceptable. */
export class ReusableActionError extends RefusalError {
  readonly code = "REUSABLE_ACTION_INVALID";
}

/** A requested action that project.yaml does not define; a project validation error, as in the reference. */
export class UnknownActionError extends ProjectValidationError {}
