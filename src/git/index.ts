/**
 * Git access for the RAP create pipeline: a bare-repository cache, reading files at commits, resolving remote refs,
 * commit reachability, and the GitHub repository checks. See docs/git.md.
 */

export { closeBlobReaders } from "./blob-reader.js";
export { readFileFromRepo } from "./cache.js";
export { checkoutCommit } from "./checkout.js";
export {
  GitError,
  GithubValidationError,
  GitInvalidRefError,
  GitNetworkError,
  GitRepoNotReachableError,
  GitUnknownRefError,
  GitUrlNotAllowedError,
} from "./errors.js";
export {
  checkRepository,
  type RepositoryRequest,
  validateBranchAndCommit,
  validateRepoUrl,
} from "./github.js";
export { KeyedLock } from "./lock.js";
export { refFormatProblem } from "./refs.js";
export { commitReachableFromRef, getShaFromRemoteRef } from "./remote.js";
export { gitProcessCounts } from "./run.js";
export {
  DEFAULT_ALLOWED_GITHUB_ORGS,
  DEFAULT_GITHUB_PROXY_DOMAIN,
  type GitLogger,
  type GitSettings,
  githubUsername,
} from "./settings.js";
