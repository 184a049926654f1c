import { lstat, mkdir, readdir, readFile, readlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { checkoutCommit, GitError } from "../../src/git/index.js";
import { commitFiles, createStudyRepo, createTempDir, git, removeDir } from "../support/git-fixtures.js";
import { testSettings } from "./helpers.js";

describe("checkoutCommit", () => {
  let workdir: string;
  beforeEach(async () => {
    workdir = await createTempDir("rap-checkout-test-");
  });
  afterEach(() => removeDir(workdir));

  test("writes the commit's files (nested, symlinks as symlinks) without .git, leaving the cache untouched", async () => {
    const repo = await createStudyRepo({
      files: { "project.yaml": "version: '3.0'\n", "analysis/a.py": "print(1)\n" },
    });
    const second = await commitFiles(repo.path, { "analysis/b.py": "print(2)\n" }, "second");
    const dest = join(workdir, "volume");
    const settings = testSettings(workdir);
    await checkoutCommit(repo.path, repo.commits[0]!, dest, settings);
    expect((await readdir(dest)).sort()).toEqual(["analysis", "project.yaml"]);
    expect(await readdir(join(dest, "analysis"))).toEqual(["a.py"]);

    await checkoutCommit(repo.path, second, dest, settings);
    expect((await readdir(join(dest, "analysis"))).sort()).toEqual(["a.py", "b.py"]);
    expect(await readFile(join(dest, "analysis", "b.py"), "utf8")).toBe("print(2)\n");
    // The bare cache keeps its own HEAD and has no index written by the checkout.
    const cache = join(
      settings.reposDir,
      `${repo.path
        .split("/")
        .at(-1)!
        .replace(/\.git$/, "")}.git`,
    );
    expect(await readdir(cache)).not.toContain("index");
    await removeDir(repo.path);
  });

  test("symlinks in the repository stay symlinks", async () => {
    const repo = await createStudyRepo({ files: { "target.txt": "t\n" } });
    // A symlink blob: mode 120000 through update-index in a scratch clone.
    const scratch = join(workdir, "scratch");
    await git(workdir, ["clone", "--quiet", repo.path, scratch]);
    await git(scratch, [
      "-c",
      "core.symlinks=true",
      "update-index",
      "--add",
      "--cacheinfo",
      `120000,${(await git(scratch, ["hash-object", "-w", "--stdin"], Buffer.from("target.txt"))).trim()},link`,
    ]);
    await git(scratch, ["-c", "user.name=t", "-c", "user.email=t@x", "commit", "--quiet", "-m", "link"]);
    await git(scratch, ["push", "--quiet", "origin", "HEAD:main"]);
    const head = (await git(scratch, ["rev-parse", "HEAD"])).trim();
    const dest = join(workdir, "volume");
    await checkoutCommit(repo.path, head, dest, testSettings(workdir));
    expect((await lstat(join(dest, "link"))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(dest, "link"))).toBe("target.txt");
    await removeDir(repo.path);
  });

  test("files already in the directory (an interrupted prepare done again) are overwritten, others kept", async () => {
    const repo = await createStudyRepo({ files: { "analysis/a.py": "print(1)\n" } });
    const dest = join(workdir, "volume");
    await mkdir(join(dest, "analysis"), { recursive: true });
    await writeFile(join(dest, "analysis", "a.py"), "half written");
    await writeFile(join(dest, "input.csv"), "an input copied before\n");
    await checkoutCommit(repo.path, repo.commits[0]!, dest, testSettings(workdir));
    expect(await readFile(join(dest, "analysis", "a.py"), "utf8")).toBe("print(1)\n");
    expect(await readFile(join(dest, "input.csv"), "utf8")).toBe("an input copied before\n");
    await removeDir(repo.path);
  });

  test("an unknown commit is a GitError naming it", async () => {
    const repo = await createStudyRepo({ files: { "a.txt": "a" } });
    const missing = "0".repeat(40);
    await expect(
      checkoutCommit(repo.path, missing, join(workdir, "v"), testSettings(workdir)),
    ).rejects.toThrow(GitError);
    await expect(
      checkoutCommit(repo.path, missing, join(workdir, "v"), testSettings(workdir)),
    ).rejects.toThrow(missing);
    await removeDir(repo.path);
  });
});
