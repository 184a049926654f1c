import { RapCreateRequestError } from "./errors.js";
import { checkActionNames, MAX_NAME_LENGTH } from "./names.js";
import { RUN_ALL } from "./plan.js";
import type { CreateRequest } from "./request.js";

export const VALID_DATABASE_NAMES = ["default"] as const;
const WORKSPACE_NAME = /^[a-zA-Z0-9_-]+$/;

/**
 * The request checks that need no git, in the reference's order (reference/controller.md §7.4.1), then ours: the
 * workspace name's length and the requested actions' names (both become paths on the backend). The repository
 * checks come after these because they may touch the network.
 */
export function validateCreateRequest(request: CreateRequest, backends: readonly string[]): void {
  if (request.requestedActions.length === 0)
    throw new RapCreateRequestError("At least one action must be supplied");
  if (!request.workspace) throw new RapCreateRequestError("Workspace name cannot be blank");
  if (!WORKSPACE_NAME.test(request.workspace)) {
    throw new RapCreateRequestError("Invalid workspace name (allowed are alphanumeric, dash and underscore)");
  }
  if (!backends.includes(request.backend)) {
    throw new RapCreateRequestError(
      `Invalid backend '${request.backend}', allowed are: ${backends.join(", ")}`,
    );
  }
  if (!(VALID_DATABASE_NAMES as readonly string[]).includes(request.databaseName)) {
    throw new RapCreateRequestError(
      `Invalid database name '${request.databaseName}', allowed are: ${VALID_DATABASE_NAMES.join(", ")}`,
    );
  }
  if (request.workspace.length > MAX_NAME_LENGTH) {
    throw new RapCreateRequestError(`Workspace name is longer than ${MAX_NAME_LENGTH} characters`);
  }
  checkActionNames(request.requestedActions.filter((action) => action !== RUN_ALL));
}
