/**
 * Writing the files of one commit into a directory (a job's volume), without a `.git` in it. The commit is fetched
 * into the bare cache first (marked `fetched/<sha>`, as for every read), then written out with plumbing commands and
 * a private index file: the cache's HEAD and index are never touched, so checkouts of the same repository may run
 * at the same time.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureCommitFetched } from "./cache.js";
import { gitEnv } from "./env.js";
import { GitError } from "./errors.js";
import { resolveRemote, secretsOf } from "./location.js";
import { runGit } from "./run.js";
import type { GitSettings } from "./settings.js";

export async function checkoutCommit(
  repoUrl: string,
  commit: string,
  destDir: string,
  settings: GitSettings,
): Promise<void> {
  const remote = resolveRemote(repoUrl, settings);
  await ensureCommitFetched(remote, commit, settings);
  await mkdir(destDir, { recursive: true });
  const indexDir = await mkdtemp(join(tmpdir(), "rap-checkout-"));
  try {
    const env = {
      ...gitEnv({ reposDir: settings.reposDir, gitDir: remote.cacheDir }),
      GIT_INDEX_FILE: join(indexDir, "index"),
      GIT_WORK_TREE: destDir,
    };
    const options = {
      cwd: destDir,
      env,
      timeoutMs: settings.timeoutMs,
      secrets: secretsOf(settings),
      log: settings.log,
    };
    // One process: the tree read into the empty private index and written out (`-u`), over any file in the way.
    const result = await runGit({ args: ["read-tree", "--reset", "-u", commit], ...options });
    if (!result.ok) {
      const message = `Could not checkout commit ${commit} from ${remote.display}`;
      settings.log?.warn({ repo: remote.display, commit, failure: result.failure }, message);
      throw new GitError(message, { cause: new Error(result.failure ?? "git failed") });
    }
  } finally {
    await rm(indexDir, { recursive: true, force: true });
  }
}
