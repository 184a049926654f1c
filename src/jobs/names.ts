/**
 * Names that become paths (DESIGN DECISIONS 15). The agent joins action names into file paths
 * (`metadata/{action}.log`) and output patterns into workspace paths, so a create is refused when an action it
 * requests or needs is not one safe path segment, or an output pattern holds a NUL. `rap check` does not refuse
 * them: the reference's parser accepts such names, and it keeps its accept/reject decisions.
 */
import { echo } from "../domain/echo.js";
import type { Job } from "../domain/job.js";
import { UnsafeNameError } from "./errors.js";

export const MAX_NAME_LENGTH = 200;

const SAFE_SEGMENT_RULE =
  `an action name must be a single path segment: no '/', '\\', NUL, '.' or '..', no leading '-', ` +
  `at most ${MAX_NAME_LENGTH} characters`;

function isSafeSegment(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= MAX_NAME_LENGTH &&
    name !== "." &&
    name !== ".." &&
    !name.startsWith("-") &&
    !/[/\\\0]/.test(name)
  );
}

/** Throws UnsafeNameError for the first action name that is not one safe path segment. */
export function checkActionNames(names: Iterable<string>): void {
  for (const name of names) {
    if (!isSafeSegment(name)) {
      throw new UnsafeNameError(`Action name '${echo(name)}' cannot be used: ${SAFE_SEGMENT_RULE}`);
    }
  }
}

/** The names and output patterns of the jobs about to be created. */
export function checkNamesUsedAsPaths(jobs: readonly Job[]): void {
  checkActionNames(jobs.map((job) => job.action));
  for (const job of jobs) {
    for (const outputs of Object.values(job.outputSpec)) {
      for (const [name, pattern] of Object.entries(outputs)) {
        if (pattern.includes("\0")) {
          throw new UnsafeNameError(
            `Output '${echo(name)}' of action '${job.action}' has a NUL character in its path pattern`,
          );
        }
      }
    }
  }
}
