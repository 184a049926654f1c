/** Questions about a remote repository: what a ref points at, and whether a commit is in a ref's history. */
import { mkdir } from "node:fs/promises";
import { ensureInit, FULL_DEPTH, fetchCommit, isAncestor } from "./cache.js";
import { gitEnv } from "./env.js";
import { GitRepoNotReachableError, GitUnknownRefError } from "./errors.js";
import { resolveRemote, secretsOf } from "./location.js";
import { withRepoLock } from "./lock.js";
import { assertValidRef, isFullSha } from "./refs.js";
import { runGit } from "./run.js";
import type { GitSettings } from "./settings.js";

/**
 * The commit `ref` (a branch or tag name, or a full ref such as `refs/heads/main` or `HEAD`) points at in
 * `repoUrl`. For an annotated tag it is the tagged commit, not the tag object.
 * Throws GitRepoNotReachableError when the remote cannot be read, GitUnknownRefError when it has no such ref
 * (GitInvalidRefError, before contacting it, when no such ref can exist).
 */
export async function getShaFromRemoteRef(
  repoUrl: string,
  ref: string,
  settings: GitSettings,
): Promise<string> {
  const remote = resolveRemote(repoUrl, settings);
  assertValidRef(ref);
  const peeled = `${ref}^{}`;
  await mkdir(settings.reposDir, { recursive: true });
  const result = await runGit({
    args: ["ls-remote", "--quiet", "--", remote.gitUrl, ref, peeled],
    cwd: settings.reposDir,
    env: gitEnv({ reposDir: settings.reposDir, protocol: remote.protocol, config: remote.config }),
    timeoutMs: settings.timeoutMs,
    secrets: secretsOf(settings),
    log: settings.log,
  });
  if (!result.ok) {
    settings.log?.warn(
      { repo: remote.display, ref, failure: result.failure },
      "Error reading from remote repository",
    );
    throw new GitRepoNotReachableError(remote.display, { cause: new Error(result.failure ?? "git failed") });
  }
  const refs = parseLsRemote(result.stdout.toString("utf8"));
  // ls-remote matches patterns by their tail, so pick the exact ref the reference would, in its order.
  for (const candidate of [ref, `refs/heads/${ref}`, `refs/tags/${peeled}`, `refs/tags/${ref}`]) {
    const sha = refs.get(candidate);
    if (sha) return sha;
  }
  throw GitUnknownRefError.notFound(ref, remote.display);
}

/**
 * Whether `commit` is `ref`'s commit or one of its ancestors in `repoUrl`. The commit is usually the branch head;
 * otherwise the last 10 commits are fetched and, if that is not enough, the whole history.
 */
export async function commitReachableFromRef(
  repoUrl: string,
  commit: string,
  ref: string,
  settings: GitSettings,
): Promise<boolean> {
  const refSha = await getShaFromRemoteRef(repoUrl, ref, settings);
  if (commit === refSha) return true;
  if (!isFullSha(commit)) return false;
  const remote = resolveRemote(repoUrl, settings);
  return withRepoLock(remote.cacheDir, async () => {
    await ensureInit(remote, settings);
    await fetchCommit(remote, refSha, 10, settings);
    if (await isAncestor(remote, commit, refSha, settings)) return true;
    await fetchCommit(remote, refSha, FULL_DEPTH, settings);
    return isAncestor(remote, commit, refSha, settings);
  });
}

function parseLsRemote(output: string): Map<string, string> {
  const refs = new Map<string, string>();
  for (const line of output.split("\n")) {
    const [sha, name] = line.trim().split(/\s+/);
    if (sha && name) refs.set(name, sha);
  }
  return refs;
}
