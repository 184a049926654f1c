import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  checkRepository,
  commitReachableFromRef,
  GithubValidationError,
  GitInvalidRefError,
  GitRepoNotReachableError,
  type GitSettings,
  GitUnknownRefError,
  getShaFromRemoteRef,
  gitProcessCounts,
  validateBranchAndCommit,
} from "../../src/git/index.js";
import {
  commitFiles,
  commitSeries,
  createBranch,
  createStudyRepo,
  createTempDir,
  git,
  removeDir,
  type StudyRepo,
  tag,
} from "../support/git-fixtures.js";
import { testSettings } from "./helpers.js";

let workdir: string;
let settings: GitSettings;
let study: StudyRepo;
let head: string;
let featureOnly: string;
let annotatedTagObject: string;

beforeAll(async () => {
  workdir = await createTempDir();
  settings = testSettings(workdir);
  study = await createStudyRepo({ path: join(workdir, "src", "study"), files: { "project.yaml": "v1" } });
  head = await commitFiles(study.path, { "project.yaml": "v2" }, "Second");
  await tag(study.path, "v1", study.commits[0]!);
  await tag(study.path, "v2", head, { message: "Release 2" });
  annotatedTagObject = (await git(study.path, ["rev-parse", "refs/tags/v2"])).trim();
  featureOnly = await commitFiles(study.path, { "feature.txt": "f" }, "Feature work", {
    branch: "feature/main",
  });
  // GitHub exposes every pull request's head as a ref, outside refs/heads.
  await git(study.path, ["update-ref", "refs/pull/1/head", featureOnly]);
});

afterAll(() => removeDir(workdir));

async function counted<T>(
  fn: () => Promise<T>,
): Promise<{ result: T | unknown; processes: number; fetches: number }> {
  const before = gitProcessCounts();
  const result = await fn().catch((error: unknown) => error);
  const after = gitProcessCounts();
  return {
    result,
    processes: after.total - before.total,
    fetches: (after.bySubcommand.fetch ?? 0) - (before.bySubcommand.fetch ?? 0),
  };
}

describe("getShaFromRemoteRef", () => {
  test.each([
    ["main", () => head],
    ["refs/heads/main", () => head],
    ["HEAD", () => head],
    ["feature/main", () => featureOnly],
    ["v1", () => study.commits[0]!],
    ["refs/tags/v1", () => study.commits[0]!],
    ["refs/pull/1/head", () => featureOnly],
  ])("%s", async (ref, expected) => {
    expect(await getShaFromRemoteRef(study.path, ref, settings)).toBe(expected());
  });

  test("an annotated tag gives the tagged commit, not the tag object", async () => {
    const sha = await getShaFromRemoteRef(study.path, "v2", settings);
    expect(sha).toBe(head);
    expect(sha).not.toBe(annotatedTagObject);
  });

  test("an unknown ref", async () => {
    await expect(getShaFromRemoteRef(study.path, "nope", settings)).rejects.toThrow(
      new GitUnknownRefError(`Could not find ref 'nope' in ${study.path}`),
    );
    // ls-remote matches by tail: `head` matches refs/pull/1/head, but is not a ref the reference accepts.
    await expect(getShaFromRemoteRef(study.path, "head", settings)).rejects.toThrow(GitUnknownRefError);
  });

  test("a ref that could be read as an option is refused before git runs", async () => {
    const run = await counted(() =>
      getShaFromRemoteRef(study.path, "--upload-pack=touch /tmp/pwned", settings),
    );
    expect(run.result).toBeInstanceOf(GitInvalidRefError);
    expect(run.result).toBeInstanceOf(GitUnknownRefError);
    expect((run.result as GitInvalidRefError).code).toBe("GIT_INVALID_REF");
    expect((run.result as Error).message).toBe(
      "Invalid ref '--upload-pack=touch /tmp/pwned': it starts with '-'",
    );
    expect(run.processes).toBe(0);
  });

  test("a repository that cannot be read", async () => {
    const missing = join(workdir, "src", "missing");
    const error = await getShaFromRemoteRef(missing, "main", settings).catch((e: unknown) => e);
    expect(error).toEqual(new GitRepoNotReachableError(missing));
    expect((error as Error).message).toBe(`Could not read from ${missing}`);
    expect((error as GitRepoNotReachableError).code).toBe("GIT_REPO_NOT_REACHABLE");
  });
});

describe("commitReachableFromRef", () => {
  test("the ref's own commit needs no fetch", async () => {
    const run = await counted(() => commitReachableFromRef(study.path, head, "refs/heads/main", settings));
    expect(run.result).toBe(true);
    expect(run.processes).toBe(1);
  });

  test("an ancestor is reachable; a commit on another branch is not", async () => {
    expect(await commitReachableFromRef(study.path, study.commits[0]!, "refs/heads/main", settings)).toBe(
      true,
    );
    expect(await commitReachableFromRef(study.path, featureOnly, "refs/heads/main", settings)).toBe(false);
    expect(
      await commitReachableFromRef(study.path, study.commits[0]!, "refs/heads/feature/main", settings),
    ).toBe(true);
    expect(await commitReachableFromRef(study.path, "f".repeat(40), "refs/heads/main", settings)).toBe(false);
  });

  test("deepens from 10 commits to the whole history only when needed", async () => {
    const long = await createStudyRepo({ path: join(workdir, "src", "long"), files: { "n.txt": "0" } });
    const commits = [
      long.commits[0]!,
      ...(await commitSeries(
        long.path,
        Array.from({ length: 59 }, (_, i) => ({ files: { "n.txt": String(i + 1) }, message: `n=${i + 1}` })),
      )),
    ];
    expect(commits).toHaveLength(60);
    const recent = await counted(() => commitReachableFromRef(long.path, commits[55]!, "main", settings));
    expect(recent).toMatchObject({ result: true, fetches: 1 });
    const nearRoot = await counted(() => commitReachableFromRef(long.path, commits[1]!, "main", settings));
    expect(nearRoot).toMatchObject({ result: true, fetches: 2 });
    const elsewhere = await commitFiles(long.path, { "x.txt": "x" }, "Elsewhere", {
      branch: "other",
      parent: null,
    });
    const unrelated = await counted(() => commitReachableFromRef(long.path, elsewhere, "main", settings));
    expect(unrelated).toMatchObject({ result: false, fetches: 2 });
  });
});

describe("validateBranchAndCommit", () => {
  const fails = async (branch: string, commit: string, message: string) => {
    const error = await validateBranchAndCommit(study.path, commit, branch, settings).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(GithubValidationError);
    expect((error as Error).message).toBe(message);
  };

  test("the commit on its branch passes", async () => {
    await validateBranchAndCommit(study.path, head, "main", settings);
    await validateBranchAndCommit(study.path, study.commits[0]!, "main", settings);
    await validateBranchAndCommit(study.path, featureOnly, "feature/main", settings);
  });

  test("a branch is required", () => fails("", head, "A branch name must be supplied"));

  test("an unknown branch", () => fails("x", head, "Could not find branch 'x'"));

  test("a pull request ref is not a branch", () =>
    fails("refs/pull/1/head", featureOnly, "Could not find branch 'refs/pull/1/head'"));

  test("a tag is not a branch", () => fails("v1", study.commits[0]!, "Could not find branch 'v1'"));

  test("a commit that is not on the branch", () =>
    fails("main", featureOnly, `Could not find commit on branch 'main': ${featureOnly}`));

  test("a branch name git forbids is never looked up", async () => {
    const run = await counted(() =>
      validateBranchAndCommit(study.path, head, "--upload-pack=touch /tmp/pwned", settings),
    );
    expect(run.result).toEqual(
      new GithubValidationError("Could not find branch '--upload-pack=touch /tmp/pwned'"),
    );
    expect(run.processes).toBe(0);
  });

  test("an unreachable repository is a GitError with its own message", async () => {
    const missing = join(workdir, "src", "missing");
    const error = await validateBranchAndCommit(missing, head, "main", settings).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitRepoNotReachableError);
    expect((error as Error).message).toBe(`Could not read from ${missing}`);
  });
});

describe("checkRepository", () => {
  test("skips every check for a local path when local repositories are allowed", async () => {
    const run = await counted(() =>
      checkRepository({ repoUrl: "/no/such/repo", commit: "0".repeat(40), branch: "" }, settings),
    );
    expect(run.result).toBeUndefined();
    expect(run.processes).toBe(0);
  });

  test("otherwise a local path is not a GitHub URL", async () => {
    await expect(
      checkRepository(
        { repoUrl: study.path, commit: head, branch: "main" },
        { ...settings, allowLocalGitRepos: false },
      ),
    ).rejects.toThrow(
      new GithubValidationError(`Repository URL ${study.path} does not start with https://github.com`),
    );
  });
});

test("createBranch moves a branch for tests that need one", async () => {
  await createBranch(study.path, "moved", study.commits[0]!);
  expect(await getShaFromRemoteRef(study.path, "moved", settings)).toBe(study.commits[0]);
});
