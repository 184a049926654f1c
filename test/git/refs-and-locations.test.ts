import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, test } from "vitest";
import { gitEnv } from "../../src/git/env.js";
import { GitError, GitUrlNotAllowedError, refFormatProblem } from "../../src/git/index.js";
import { resolveRemote } from "../../src/git/location.js";
import { displayUrl, redact } from "../../src/git/redact.js";
import { testSettings } from "./helpers.js";

const settings = testSettings("/tmp/rap-git-unused", { allowLocalGitRepos: false });

const GOOD_REFS = [
  "main",
  "HEAD",
  "v1.0",
  "feature/x-y_z",
  "refs/heads/main",
  "refs/pull/1/head",
  "release@2024",
];
const BAD_REFS: Array<[string, string]> = [
  ["", "it is empty"],
  ["--upload-pack=touch /tmp/pwned", "it starts with '-'"],
  ["-b", "it starts with '-'"],
  ["@", "it is '@'"],
  ["a b", "it contains a space"],
  ["a~1", "it contains '~'"],
  ["a^{}", "it contains '^'"],
  ["a:b", "it contains ':'"],
  ["a?", "it contains '?'"],
  ["a*", "it contains '*'"],
  ["a[b", "it contains '['"],
  ["a\\b", "it contains '\\'"],
  ["a\tb", "it contains a control character"],
  ["a\x7fb", "it contains a control character"],
  ["a..b", "it contains '..'"],
  ["a@{1}", "it contains '@{'"],
  ["/main", "it has an empty path component"],
  ["main/", "it has an empty path component"],
  ["a//b", "it has an empty path component"],
  ["main.", "it ends with '.'"],
  [".hidden", "a path component starts with '.'"],
  ["refs/heads/.x", "a path component starts with '.'"],
  ["main.lock", "a path component ends with '.lock'"],
  ["a.lock/b", "a path component ends with '.lock'"],
];

describe("refFormatProblem follows git check-ref-format", () => {
  test.each(GOOD_REFS)("%s is fine", (ref) => {
    expect(refFormatProblem(ref)).toBeNull();
  });

  test.each(BAD_REFS)("%j is refused: %s", (ref, problem) => {
    expect(refFormatProblem(ref)).toBe(problem);
  });

  test("agrees with git itself (leading '-' is our own rule: git would read an option)", async () => {
    const gitAccepts = async (ref: string) => {
      try {
        await promisify(execFile)("git", ["check-ref-format", "--allow-onelevel", ref], { cwd: "/tmp" });
        return true;
      } catch {
        return false;
      }
    };
    const refs = [...GOOD_REFS, ...BAD_REFS.map(([ref]) => ref)].filter((ref) => !ref.startsWith("-"));
    for (const ref of refs) {
      expect([ref, await gitAccepts(ref)]).toEqual([ref, refFormatProblem(ref) === null]);
    }
  });
});

describe("resolveRemote: the only locations ever contacted", () => {
  test("a GitHub URL goes to the proxy, keeping org, repo and .git", () => {
    const github = { ...settings, githubProxyDomain: "github-proxy.opensafely.org" };
    expect(resolveRemote("https://github.com/opensafely/study", github).gitUrl).toBe(
      "https://github-proxy.opensafely.org/opensafely/study",
    );
    expect(resolveRemote("https://github.com/opensafely/study.git/", github).gitUrl).toBe(
      "https://github-proxy.opensafely.org/opensafely/study.git",
    );
    const local = { ...settings, githubProxyDomain: "http://127.0.0.1:8123" };
    const remote = resolveRemote("https://github.com/opensafely/study", local);
    expect(remote.gitUrl).toBe("http://127.0.0.1:8123/opensafely/study");
    expect(remote.protocol).toBe("http");
  });

  test("the cache directory is reposDir/<repo name>.git", () => {
    expect(resolveRemote("https://github.com/opensafely/study.git", settings).cacheDir).toBe(
      "/tmp/rap-git-unused/repos/study.git",
    );
    const local = { ...settings, allowLocalGitRepos: true };
    expect(resolveRemote("/srv/repos/project/", local).cacheDir).toBe(
      "/tmp/rap-git-unused/repos/project.git",
    );
    expect(resolveRemote("/srv/project/.git", local).cacheDir).toBe("/tmp/rap-git-unused/repos/repo.git");
    expect(resolveRemote("/srv/..", local).cacheDir).toBe("/tmp/rap-git-unused/repos/repo.git");
  });

  test.each([
    "file:///srv/repo",
    "ssh://github.com/opensafely/study",
    "git://github.com/opensafely/study",
    "http://github.com/opensafely/study",
    "https://gitlab.com/opensafely/study",
    "https://github.com.evil.example/opensafely/study",
    "https://x@github.com/opensafely/study",
    "https://github.com:8443/opensafely/study",
    "https://github.com/opensafely/study?x=1",
    "https://github.com/opensafely/study#x",
    "https://github.com/opensafely/study/extra",
    "https://github.com/opensafely/..",
    "https://github.com/../study",
    "https://github.com/opensafely/st%20udy",
    "git@github.com:opensafely/study.git",
    "ext::sh -c touch% /tmp/pwned",
    "relative/path",
    "./repo",
    "--upload-pack=touch /tmp/pwned",
  ])("%s is refused", (url) => {
    expect(() => resolveRemote(url, { ...settings, allowLocalGitRepos: true })).toThrow(
      GitUrlNotAllowedError,
    );
  });

  test("an absolute path is refused unless local repositories are allowed", () => {
    expect(() => resolveRemote("/srv/repo", settings)).toThrow(
      "Repository URL /srv/repo is not allowed: local repositories are not enabled (ALLOW_LOCAL_GIT_REPOS)",
    );
    const remote = resolveRemote("/srv/repo", { ...settings, allowLocalGitRepos: true });
    expect(remote.gitUrl).toBe("/srv/repo");
    expect(remote.protocol).toBe("file");
  });

  test.each([
    "ftp://proxy.example",
    "https://user:pw@proxy.example",
    "https://proxy.example/path",
    "not a host",
  ])("a bad proxy setting %s is an error", (githubProxyDomain) => {
    expect(() =>
      resolveRemote("https://github.com/opensafely/study", { ...settings, githubProxyDomain }),
    ).toThrow(GitError);
  });
});

describe("the token", () => {
  const token = "ghp_0123456789abcdef";
  const withToken = {
    ...settings,
    githubProxyDomain: "github-proxy.opensafely.org",
    privateRepoAccessToken: token,
  };

  test("is never part of the URL given to git", () => {
    const remote = resolveRemote("https://github.com/opensafely/study", withToken);
    expect(remote.gitUrl).toBe("https://github-proxy.opensafely.org/opensafely/study");
    expect(JSON.stringify(remote)).not.toContain(token);
  });

  test("travels as Basic credentials that git applies to the proxy only", async () => {
    const remote = resolveRemote("https://github.com/opensafely/study", withToken);
    const env = gitEnv({ reposDir: "/tmp", protocol: remote.protocol, config: remote.config });
    const header = async (url: string) => {
      try {
        const { stdout } = await promisify(execFile)(
          "git",
          ["config", "--get-urlmatch", "http.extraHeader", url],
          {
            env,
            cwd: "/tmp",
          },
        );
        return stdout.trim();
      } catch {
        return null;
      }
    };
    const expected = `Authorization: Basic ${Buffer.from(`jobrunner-ctrl:${token}`).toString("base64")}`;
    expect(await header("https://github-proxy.opensafely.org/opensafely/study")).toBe(expected);
    expect(await header("https://github-proxy.opensafely.org.evil.example/x")).toBeNull();
    expect(await header("https://evil.example/opensafely/study")).toBeNull();
    expect(await header("http://github-proxy.opensafely.org/opensafely/study")).toBeNull();
  });

  test("names the agent's backend when there is one", () => {
    const remote = resolveRemote("https://github.com/opensafely/study", {
      ...withToken,
      githubUsername: "jobrunner-tpp",
    });
    expect(remote.config[0]?.[1]).toBe(
      `Authorization: Basic ${Buffer.from(`jobrunner-tpp:${token}`).toString("base64")}`,
    );
  });

  test("is not sent over plain http", () => {
    const remote = resolveRemote("https://github.com/opensafely/study", {
      ...withToken,
      githubProxyDomain: "http://127.0.0.1:8123",
    });
    expect(remote.config).toEqual([]);
  });

  test("is masked by redact and in displayed URLs", () => {
    expect(redact(`fatal: unable to access 'https://u:${token}@host/': 403`, [token])).toBe(
      "fatal: unable to access 'https://u:********@host/': 403",
    );
    expect(redact("nothing to hide", [""])).toBe("nothing to hide");
    expect(displayUrl(`https://${token}@github.com/opensafely/study`)).toBe(
      "https://********@github.com/opensafely/study",
    );
    expect(displayUrl("/srv/repo")).toBe("/srv/repo");
  });
});
