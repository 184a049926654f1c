/**
 * The bare-repository cache under `reposDir`: one `<name>.git` per repository name, filled one commit at a time.
 * A commit counts as present only once the tag `fetched/<sha>` points at it. The fetch writes that tag itself, as
 * its last step, after the whole pack has arrived and been checked, so an interrupted fetch leaves no marker (a
 * plain object-existence check would accept a commit whose blobs never arrived).
 */
import { access, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { readBlob } from "./blob-reader.js";
import { gitEnv } from "./env.js";
import { GitError, GitNetworkError } from "./errors.js";
import { type Remote, resolveRemote, secretsOf } from "./location.js";
import { withRepoLock } from "./lock.js";
import { isFullSha } from "./refs.js";
import { runGit } from "./run.js";
import { DEFAULT_FETCH_RETRY_DELAYS_MS, type GitSettings } from "./settings.js";

export const MARKER_PREFIX = "refs/tags/fetched/";

/** git's "no limit" depth: fetches the whole history (https://git-scm.com/docs/shallow). */
export const FULL_DEPTH = 2147483647;

// Mostly transient TLS and connection failures seen fetching through the proxy; worth retrying.
const TRANSIENT_FETCH_ERRORS = [
  "GnuTLS recv error",
  "SSL_read: Connection was reset",
  "Connection reset by peer",
];

/**
 * The file at `path` in `repoUrl` as of `commit`, as raw bytes (git does not know their encoding); null when that
 * commit has no such file.
 */
export async function readFileFromRepo(
  repoUrl: string,
  commit: string,
  path: string,
  settings: GitSettings,
): Promise<Buffer | null> {
  const remote = resolveRemote(repoUrl, settings);
  await ensureCommitFetched(remote, commit, settings);
  const { cwd, env, timeoutMs } = local(remote, settings);
  const answer = await readBlob(`${commit}:${path}`, { gitDir: remote.cacheDir, cwd, env, timeoutMs });
  if (answer.kind === "blob") return answer.bytes;
  // The commit is in the cache (fetched above), so a missing object is a missing path.
  if (answer.kind === "missing") return null;
  const failure = answer.kind === "failed" ? answer.failure : `${path} is a ${answer.type}, not a file`;
  const message = `Error reading from ${remote.display} @ ${commit}`;
  settings.log?.warn({ repo: remote.display, commit, path, failure }, message);
  throw new GitError(message, { cause: new Error(failure) });
}

/** Makes sure `commit` is in the cache, fetching it (depth 1) unless an earlier fetch already marked it. */
export async function ensureCommitFetched(
  remote: Remote,
  commit: string,
  settings: GitSettings,
): Promise<void> {
  if (!isFullSha(commit)) {
    // git would fail to fetch it; fail the same way without asking git (and without it reading an option).
    throw new GitError(`Error fetching commit ${commit} from ${remote.display}`);
  }
  if (await isMarkedFetched(remote.cacheDir, commit)) return;
  await withRepoLock(remote.cacheDir, async () => {
    await ensureInit(remote, settings);
    // Another caller may have fetched it while we waited for the lock.
    if (await isMarkedFetched(remote.cacheDir, commit)) return;
    await fetchCommit(remote, commit, 1, settings);
  });
}

/** Creates the bare cache repository if it is missing. Call with the repository lock held. */
export async function ensureInit(remote: Remote, settings: GitSettings): Promise<void> {
  if (await isInitialised(remote)) return;
  await mkdir(settings.reposDir, { recursive: true });
  const result = await runGit({ args: ["init", "--bare", "--quiet"], ...local(remote, settings) });
  // Another process sharing the cache may have won the race to create it.
  if (!result.ok && !(await isInitialised(remote))) {
    // The cause (logged, not shown) has the path: the server's directories are none of the client's business.
    throw new GitError(`Could not create the repository cache for ${remote.display}`, {
      cause: new Error(result.failure ?? "git failed"),
    });
  }
}

async function isInitialised(remote: Remote): Promise<boolean> {
  try {
    await access(join(remote.cacheDir, "config"));
    return true;
  } catch {
    return false;
  }
}

/**
 * Fetches `commit` (and `depth` commits of its history) into the cache and marks it fetched. Retries transient
 * network errors with the configured pauses. Call with the repository lock held, after ensureInit.
 */
export async function fetchCommit(
  remote: Remote,
  commit: string,
  depth: number,
  settings: GitSettings,
): Promise<void> {
  if (!settings.onFetch) return fetchWithRetries(remote, commit, depth, settings);
  const started = performance.now();
  let ok = false;
  try {
    await fetchWithRetries(remote, commit, depth, settings);
    ok = true;
  } finally {
    settings.onFetch((performance.now() - started) / 1000, ok);
  }
}

async function fetchWithRetries(
  remote: Remote,
  commit: string,
  depth: number,
  settings: GitSettings,
): Promise<void> {
  const delays = settings.fetchRetryDelaysMs ?? DEFAULT_FETCH_RETRY_DELAYS_MS;
  const maxAttempts = delays.length + 1;
  for (let attempt = 1; ; attempt++) {
    const result = await runGit({
      args: [
        "fetch",
        "--no-tags",
        "--no-write-fetch-head",
        "--depth",
        String(depth),
        "--",
        remote.gitUrl,
        `+${commit}:${MARKER_PREFIX}${commit}`,
      ],
      ...local(remote, settings),
      env: gitEnv({
        reposDir: settings.reposDir,
        gitDir: remote.cacheDir,
        protocol: remote.protocol,
        config: remote.config,
      }),
    });
    if (result.ok) return;
    const cause = new Error(result.failure ?? "git failed");
    settings.log?.warn(
      { repo: remote.display, commit, attempt, maxAttempts, failure: result.failure },
      "Error fetching commit",
    );
    if (!TRANSIENT_FETCH_ERRORS.some((pattern) => result.stderr.includes(pattern))) {
      throw new GitError(`Error fetching commit ${commit} from ${remote.display}`, { cause });
    }
    const delay = delays[attempt - 1];
    if (delay === undefined) throw new GitNetworkError(commit, remote.display, { cause });
    await sleep(delay);
  }
}

/** Whether `ancestor` is in the history of `descendant`, as far as the cache knows. */
export async function isAncestor(
  remote: Remote,
  ancestor: string,
  descendant: string,
  settings: GitSettings,
): Promise<boolean> {
  const result = await runGit({
    args: ["merge-base", "--is-ancestor", ancestor, descendant],
    ...local(remote, settings),
  });
  return result.ok;
}

/**
 * Reads the marker ref from disk rather than starting a git process: the cache is ours, created with git's
 * default "files" ref storage, where a ref is a loose file or a line of packed-refs. Anything unreadable counts as
 * "not fetched", which only costs a fetch.
 */
async function isMarkedFetched(cacheDir: string, commit: string): Promise<boolean> {
  const ref = `${MARKER_PREFIX}${commit}`;
  try {
    return (await readFile(join(cacheDir, ref), "utf8")).trim() === commit;
  } catch {
    // Not loose; gc may have packed it.
  }
  try {
    const packed = await readFile(join(cacheDir, "packed-refs"), "utf8");
    return packed.split("\n").includes(`${commit} ${ref}`);
  } catch {
    return false;
  }
}

/** Options for a git process that works on the cache repository and touches no network. */
function local(remote: Remote, settings: GitSettings) {
  return {
    cwd: settings.reposDir,
    env: gitEnv({ reposDir: settings.reposDir, gitDir: remote.cacheDir }),
    timeoutMs: settings.timeoutMs,
    secrets: secretsOf(settings),
    log: settings.log,
  };
}
