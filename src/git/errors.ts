/**
 * Git and GitHub errors. Messages are the reference job-runner's, character for character: the RAP API returns
 * them to job-server as `details`. Callers branch on the class or on `code`, never on the message.
 *
 * Hierarchy (as in the reference, where it matters for the reusable-actions mapping):
 *   GitError ─┬─ GitNetworkError
 *             ├─ GitRepoNotReachableError
 *             ├─ GitUnknownRefError ── GitInvalidRefError
 *             └─ GitUrlNotAllowedError
 *   GithubValidationError   (not a GitError: callers catch it separately)
 */

import { RefusalError } from "../domain/errors.js";

export class GitError extends RefusalError {
  readonly code: string = "GIT_ERROR";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "GitError";
  }
}

/** A fetch kept failing with a transient network error after every retry. */
export class GitNetworkError extends GitError {
  override readonly code = "GIT_NETWORK_ERROR";
  constructor(commit: string, repoUrl: string, options?: { cause?: unknown }) {
    super(
      `Network error when fetching commit ${commit} from ${repoUrl}\n(This may work if you try again later)`,
      options,
    );
    this.name = "GitNetworkError";
  }
}

/** `git ls-remote` failed: the repository does not exist, is private, or the network is down. */
export class GitRepoNotReachableError extends GitError {
  override readonly code = "GIT_REPO_NOT_REACHABLE";
  constructor(repoUrl: string, options?: { cause?: unknown }) {
    super(`Could not read from ${repoUrl}`, options);
    this.name = "GitRepoNotReachableError";
  }
}

/** The remote has no such branch, tag or ref. */
export class GitUnknownRefError extends GitError {
  override readonly code: string = "GIT_UNKNOWN_REF";
  constructor(message: string) {
    super(message);
    this.name = "GitUnknownRefError";
  }

  static notFound(ref: string, repoUrl: string): GitUnknownRefError {
    return new GitUnknownRefError(`Could not find ref '${ref}' in ${repoUrl}`);
  }
}

/**
 * A ref git itself would refuse (or one that could be read as an option). Rejected before any git process runs.
 * It is an unknown ref too (no such ref can exist), so callers that map "unknown ref" to a user message, like the
 * branch check, keep working.
 */
export class GitInvalidRefError extends GitUnknownRefError {
  override readonly code = "GIT_INVALID_REF";
  constructor(ref: string, reason: string) {
    super(`Invalid ref '${ref}': ${reason}`);
    this.name = "GitInvalidRefError";
  }
}

/** A repository location the fetch layer never contacts (wrong scheme or host, relative path, local repos off). */
export class GitUrlNotAllowedError extends GitError {
  override readonly code = "GIT_URL_NOT_ALLOWED";
  constructor(repoUrl: string, reason: string) {
    super(`Repository URL ${repoUrl} is not allowed: ${reason}`);
    this.name = "GitUrlNotAllowedError";
  }
}

/** A repository URL, branch or commit that fails the GitHub checks of a RAP create request. */
export class GithubValidationError extends RefusalError {
  readonly code = "GITHUB_VALIDATION_ERROR";
  constructor(message: string) {
    super(message);
    this.name = "GithubValidationError";
  }
}
