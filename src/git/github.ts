/**
 * The GitHub checks of a RAP create request (reference/controller.md §7.6). Anyone who can open a pull request
 * can make a commit appear to be "in" a repository, so a commit is only trusted once it is found on a real branch.
 */
import { GithubValidationError, GitUnknownRefError } from "./errors.js";
import { displayUrl } from "./redact.js";
import { refFormatProblem } from "./refs.js";
import { commitReachableFromRef } from "./remote.js";
import type { GitSettings } from "./settings.js";

export interface RepositoryRequest {
  readonly repoUrl: string;
  readonly commit: string;
  readonly branch: string;
}

/**
 * The repository/commit step of RAP create validation (§7.4.1): nothing is checked for an absolute local path when
 * local repositories are allowed; otherwise the URL must be an allowed GitHub repository and the commit must be on
 * the branch.
 */
export async function checkRepository(request: RepositoryRequest, settings: GitSettings): Promise<void> {
  if (settings.allowLocalGitRepos && request.repoUrl.startsWith("/")) return;
  validateRepoUrl(request.repoUrl, settings.allowedGithubOrgs);
  await validateBranchAndCommit(request.repoUrl, request.commit, request.branch, settings);
}

/** Throws GithubValidationError unless `url` is exactly `https://github.com/<allowed org>/<repo>` (`.git`, a trailing `/` allowed). */
export function validateRepoUrl(url: string, allowedOrgs: readonly string[]): void {
  const shown = displayUrl(url);
  const parsed = splitUrl(url);
  if (parsed.scheme !== "https" || parsed.netloc !== "github.com") {
    throw new GithubValidationError(`Repository URL ${shown} does not start with https://github.com`);
  }
  const segments = stripSlashes(parsed.path).split("/");
  const org = segments[0] ?? "";
  if (!allowedOrgs.includes(org)) {
    throw new GithubValidationError(
      `Repository ${shown} does not belong to one of the following Github organisations: ${allowedOrgs.join(" ")}`,
    );
  }
  const expected = `https://github.com/${segments.slice(0, 2).join("/")}`;
  if (url.replace(/\/+$/, "") !== expected || segments.length !== 2) {
    throw new GithubValidationError(
      `Repository ${shown} was not of the expected format: https://github.com/[organisation]/[project-name]`,
    );
  }
}

/**
 * Throws GithubValidationError unless `branch` is a branch of `repoUrl` (a real one under refs/heads, so pull
 * request refs do not count) whose history contains `commit`. Errors reaching the repository propagate as GitError.
 */
export async function validateBranchAndCommit(
  repoUrl: string,
  commit: string,
  branch: string,
  settings: GitSettings,
): Promise<void> {
  if (!branch) throw new GithubValidationError("A branch name must be supplied");
  // A name git forbids for a branch cannot exist on the remote: the same answer, without asking.
  if (refFormatProblem(branch)) throw new GithubValidationError(`Could not find branch '${branch}'`);
  let reachable: boolean;
  try {
    reachable = await commitReachableFromRef(repoUrl, commit, `refs/heads/${branch}`, settings);
  } catch (error) {
    if (error instanceof GitUnknownRefError)
      throw new GithubValidationError(`Could not find branch '${branch}'`);
    throw error;
  }
  if (!reachable) throw new GithubValidationError(`Could not find commit on branch '${branch}': ${commit}`);
}

/**
 * Splits a URL the way the reference's Python `urlsplit` does, so edge cases (case of the scheme, stray
 * whitespace, empty segments) get the reference's message.
 */
function splitUrl(url: string): { scheme: string; netloc: string; path: string } {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: Python strips C0 controls and spaces at both ends
  let rest = url.replace(/^[\x00-\x20]+|[\x00-\x20]+$/g, "").replace(/[\t\r\n]/g, "");
  let scheme = "";
  const colon = rest.indexOf(":");
  if (colon > 0 && /^[A-Za-z][A-Za-z0-9+.-]*$/.test(rest.slice(0, colon))) {
    scheme = rest.slice(0, colon).toLowerCase();
    rest = rest.slice(colon + 1);
  }
  let netloc = "";
  if (rest.startsWith("//")) {
    const end = rest.slice(2).search(/[/?#]/);
    netloc = end === -1 ? rest.slice(2) : rest.slice(2, end + 2);
    rest = end === -1 ? "" : rest.slice(end + 2);
  }
  const path = rest.split("#")[0]?.split("?")[0] ?? "";
  return { scheme, netloc, path };
}

function stripSlashes(path: string): string {
  return path.replace(/^\/+|\/+$/g, "");
}
