import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  GitError,
  type GitSettings,
  GitUrlNotAllowedError,
  gitProcessCounts,
  readFileFromRepo,
} from "../../src/git/index.js";
import {
  commitFiles,
  commitSeries,
  createStudyRepo,
  createTempDir,
  git,
  removeDir,
  type StudyRepo,
} from "../support/git-fixtures.js";
import { testSettings } from "./helpers.js";

const PROJECT = "version: '4.0'\nactions: {}\n";

let workdir: string;
let study: StudyRepo;
let second: string;
let settings: GitSettings;

beforeAll(async () => {
  workdir = await createTempDir();
  study = await createStudyRepo({
    path: join(workdir, "src", "study"),
    files: { "project.yaml": PROJECT, "data/blob.bin": new Uint8Array([0, 255, 10, 13]) },
  });
  second = await commitFiles(
    study.path,
    { "project.yaml": null, "later.txt": "later\n" },
    "Remove project.yaml",
  );
  settings = testSettings(workdir);
});

afterAll(() => removeDir(workdir));

function fetchesDuring<T>(fn: () => Promise<T>): Promise<{ result: T; fetches: number; processes: number }> {
  const before = gitProcessCounts();
  return fn().then((result) => {
    const after = gitProcessCounts();
    return {
      result,
      fetches: (after.bySubcommand.fetch ?? 0) - (before.bySubcommand.fetch ?? 0),
      processes: after.total - before.total,
    };
  });
}

describe("readFileFromRepo", () => {
  test("returns the file's bytes at that commit", async () => {
    const first = study.commits[0]!;
    expect((await readFileFromRepo(study.path, first, "project.yaml", settings))?.toString()).toBe(PROJECT);
    expect(await readFileFromRepo(study.path, first, "data/blob.bin", settings)).toEqual(
      Buffer.from([0, 255, 10, 13]),
    );
  });

  test("returns null for a file the commit does not have", async () => {
    expect(await readFileFromRepo(study.path, second, "project.yaml", settings)).toBeNull();
    expect(await readFileFromRepo(study.path, second, "no/such/dir/file.txt", settings)).toBeNull();
    expect((await readFileFromRepo(study.path, second, "later.txt", settings))?.toString()).toBe("later\n");
  });

  test("a directory is an error, not a missing file", async () => {
    await expect(readFileFromRepo(study.path, study.commits[0]!, "data", settings)).rejects.toThrow(
      new GitError(`Error reading from ${study.path} @ ${study.commits[0]}`),
    );
  });

  test("caches commits in reposDir/<name>.git, marked by fetched/<sha> tags", async () => {
    const cache = join(settings.reposDir, "study.git");
    await readFileFromRepo(study.path, second, "later.txt", settings);
    expect(existsSync(join(cache, "config"))).toBe(true);
    const tags = await git(cache, ["tag", "--list", "fetched/*"]);
    expect(tags.trim().split("\n")).toEqual(expect.arrayContaining([`fetched/${second}`]));
  });

  test("a second read of a cached commit starts no git process: no fetch, and the repository's reader answers", async () => {
    const commit = await commitFiles(study.path, { "third.txt": "3" }, "Third");
    const first = await fetchesDuring(() => readFileFromRepo(study.path, commit, "third.txt", settings));
    expect(first.fetches).toBe(1);
    const again = await fetchesDuring(() => readFileFromRepo(study.path, commit, "third.txt", settings));
    expect(again.fetches).toBe(0);
    expect(again.processes).toBe(0);
    expect(again.result?.toString()).toBe("3");
  });

  test("the marker is still found after git packs the refs", async () => {
    const commit = await commitFiles(study.path, { "fourth.txt": "4" }, "Fourth");
    await readFileFromRepo(study.path, commit, "fourth.txt", settings);
    const cache = join(settings.reposDir, "study.git");
    await git(cache, ["pack-refs", "--all", "--prune"]);
    expect(existsSync(join(cache, "refs", "tags", "fetched", commit))).toBe(false);
    const again = await fetchesDuring(() => readFileFromRepo(study.path, commit, "fourth.txt", settings));
    expect(again.fetches).toBe(0);
  });

  test("a commit that is not in the repository: the reference's message", async () => {
    const zeros = "0".repeat(40);
    await expect(readFileFromRepo(study.path, zeros, "project.yaml", settings)).rejects.toThrow(
      new GitError(`Error fetching commit ${zeros} from ${study.path}`),
    );
  });

  test("a value that is not a full sha fails the same way, without running git", async () => {
    for (const commit of ["--upload-pack=touch /tmp/pwned", "HEAD", study.commits[0]!.slice(0, 12), ""]) {
      const run = await fetchesDuring(() =>
        readFileFromRepo(study.path, commit, "project.yaml", settings).catch((e: unknown) => e),
      );
      expect(run.result).toEqual(new GitError(`Error fetching commit ${commit} from ${study.path}`));
      expect(run.processes).toBe(0);
    }
  });

  test("a repository that does not exist", async () => {
    const missing = join(workdir, "src", "missing");
    const commit = study.commits[0]!;
    await expect(readFileFromRepo(missing, commit, "project.yaml", settings)).rejects.toThrow(
      `Error fetching commit ${commit} from ${missing}`,
    );
  });

  test("refuses locations other than GitHub and (when allowed) absolute paths, without running git", async () => {
    const commit = study.commits[0]!;
    const refused = [
      `file://${study.path}`,
      "ssh://github.com/opensafely/study",
      "src/study",
      `${study.path.slice(1)}`,
      "ext::sh -c touch% /tmp/pwned",
    ];
    for (const url of refused) {
      const run = await fetchesDuring(() =>
        readFileFromRepo(url, commit, "project.yaml", settings).catch((e) => e),
      );
      expect(run.result).toBeInstanceOf(GitUrlNotAllowedError);
      expect(run.processes).toBe(0);
    }
    const localOff = { ...settings, allowLocalGitRepos: false };
    await expect(readFileFromRepo(study.path, commit, "project.yaml", localOff)).rejects.toThrow(
      GitUrlNotAllowedError,
    );
  });
});

describe("concurrent use of one cache", () => {
  test("parallel reads of different commits all succeed and leave a consistent cache", async () => {
    const repo = await createStudyRepo({ path: join(workdir, "src", "busy"), files: { "n.txt": "0" } });
    const commits = await commitSeries(
      repo.path,
      Array.from({ length: 9 }, (_, i) => ({ files: { "n.txt": String(i + 1) }, message: `n=${i + 1}` })),
    );
    const all = [repo.commits[0]!, ...commits];
    const contents = await Promise.all(
      all.map((commit) => readFileFromRepo(repo.path, commit, "n.txt", settings).then((b) => b?.toString())),
    );
    expect(contents).toEqual(all.map((_, i) => String(i)));
    const cache = join(settings.reposDir, "busy.git");
    await git(cache, ["fsck", "--no-dangling"]);
    const tags = (await git(cache, ["tag", "--list", "fetched/*"])).trim().split("\n").sort();
    expect(tags).toEqual(all.map((c) => `fetched/${c}`).sort());
    // The same commit requested many times at once is fetched once.
    const next = await commitFiles(repo.path, { "n.txt": "10" }, "n=10");
    const run = await fetchesDuring(() =>
      Promise.all(Array.from({ length: 10 }, () => readFileFromRepo(repo.path, next, "n.txt", settings))),
    );
    expect(run.fetches).toBe(1);
    expect(run.result.map(String)).toEqual(Array(10).fill("10"));
  });
});
