/**
 * The GitHub code path end to end: https://github.com/<org>/<repo> URLs sent to a local smart-HTTP server through
 * the proxy setting. All traffic stays on 127.0.0.1.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  checkRepository,
  GitError,
  GithubValidationError,
  GitNetworkError,
  GitRepoNotReachableError,
  type GitSettings,
  getShaFromRemoteRef,
  readFileFromRepo,
} from "../../src/git/index.js";
import {
  commitFiles,
  createStudyRepo,
  createTempDir,
  type GitServer,
  git,
  removeDir,
  type StudyRepo,
  startGitServer,
} from "../support/git-fixtures.js";
import { recordingLogger, testSettings } from "./helpers.js";

const STUDY = "https://github.com/opensafely/study";

let root: string;
let workdir: string;
let server: GitServer;
let study: StudyRepo;
let head: string;
let feature: string;

beforeAll(async () => {
  root = await createTempDir();
  workdir = await createTempDir();
  study = await createStudyRepo({
    path: join(root, "opensafely", "study"),
    files: { "project.yaml": "one" },
  });
  head = await commitFiles(study.path, { "project.yaml": "two" }, "Second");
  feature = await commitFiles(study.path, { "project.yaml": "pr" }, "Proposed", { branch: "feature" });
  await git(study.path, ["update-ref", "refs/pull/1/head", feature]);
  await createStudyRepo({
    path: join(root, "opensafely-actions", "action.git"),
    files: { "action.yaml": "run: x" },
  });
  server = await startGitServer(root);
});

afterAll(async () => {
  await server.close();
  await Promise.all([removeDir(root), removeDir(workdir)]);
});

function settingsFor(name: string, overrides: Partial<GitSettings> = {}): GitSettings {
  return testSettings(join(workdir, name), {
    githubProxyDomain: server.url,
    allowLocalGitRepos: false,
    ...overrides,
  });
}

describe("through the proxy setting", () => {
  test("checkRepository accepts the branch head and its ancestors", async () => {
    const settings = settingsFor("check");
    await checkRepository({ repoUrl: STUDY, commit: head, branch: "main" }, settings);
    await checkRepository({ repoUrl: STUDY, commit: study.commits[0]!, branch: "main" }, settings);
    await checkRepository({ repoUrl: `${STUDY}.git`, commit: head, branch: "main" }, settings);
  });

  test.each([
    ["main", () => feature, () => `Could not find commit on branch 'main': ${feature}`],
    ["nope", () => head, () => "Could not find branch 'nope'"],
    ["refs/pull/1/head", () => feature, () => "Could not find branch 'refs/pull/1/head'"],
    ["", () => head, () => "A branch name must be supplied"],
  ])("checkRepository refuses branch %j", async (branch, commit, message) => {
    await expect(
      checkRepository({ repoUrl: STUDY, commit: commit(), branch }, settingsFor("refuse")),
    ).rejects.toThrow(new GithubValidationError(message()));
  });

  test("URL checks come first and contact nobody", async () => {
    const before = server.requests.length;
    await expect(
      checkRepository(
        { repoUrl: "https://github.com/someorg/study", commit: head, branch: "main" },
        settingsFor("x"),
      ),
    ).rejects.toThrow(
      "Repository https://github.com/someorg/study does not belong to one of the following Github organisations: opensafely opensafely-actions",
    );
    expect(server.requests.length).toBe(before);
  });

  test("reads a file; a second read of the same commit sends no request", async () => {
    const settings = settingsFor("read");
    expect((await readFileFromRepo(STUDY, head, "project.yaml", settings))?.toString()).toBe("two");
    const before = server.requests.length;
    expect((await readFileFromRepo(STUDY, head, "project.yaml", settings))?.toString()).toBe("two");
    expect(await readFileFromRepo(STUDY, head, "missing.yaml", settings)).toBeNull();
    expect(server.requests.length).toBe(before);
    expect(server.requests.at(-1)).toBe("POST /opensafely/study/git-upload-pack");
  });

  test("resolves refs of a repository served as <repo>.git", async () => {
    const sha = await getShaFromRemoteRef(
      "https://github.com/opensafely-actions/action",
      "main",
      settingsFor("a"),
    );
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
  });

  test("a repository that does not exist", async () => {
    const missing = "https://github.com/opensafely/missing";
    const settings = settingsFor("missing");
    await expect(getShaFromRemoteRef(missing, "main", settings)).rejects.toThrow(
      new GitRepoNotReachableError(missing),
    );
    await expect(
      checkRepository({ repoUrl: missing, commit: head, branch: "main" }, settings),
    ).rejects.toThrow(`Could not read from ${missing}`);
    await expect(readFileFromRepo(missing, head, "project.yaml", settings)).rejects.toThrow(
      new GitError(`Error fetching commit ${head} from ${missing}`),
    );
  });

  test("a commit the repository does not have (S070)", async () => {
    const zeros = "0".repeat(40);
    await expect(readFileFromRepo(STUDY, zeros, "project.yaml", settingsFor("zeros"))).rejects.toThrow(
      new GitError(`Error fetching commit ${zeros} from ${STUDY}`),
    );
  });
});

describe("transient network errors", () => {
  test("a fetch is retried and then succeeds", async () => {
    const log = recordingLogger();
    const settings = settingsFor("flaky", { log });
    server.resetNextRequests(2);
    expect((await readFileFromRepo(STUDY, head, "project.yaml", settings))?.toString()).toBe("two");
    expect(log.lines.filter((l) => l.startsWith("warn Error fetching commit"))).toHaveLength(2);
  });

  test("after five failed attempts: the reference's network error", async () => {
    const log = recordingLogger();
    const settings = settingsFor("down", { log });
    server.resetNextRequests(1000);
    try {
      const error = await readFileFromRepo(STUDY, head, "project.yaml", settings).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GitNetworkError);
      expect(error).toBeInstanceOf(GitError);
      expect((error as Error).message).toBe(
        `Network error when fetching commit ${head} from ${STUDY}\n(This may work if you try again later)`,
      );
      expect(log.lines.filter((l) => l.startsWith("warn Error fetching commit"))).toHaveLength(5);
    } finally {
      server.resetNextRequests(0);
    }
  });

  test("a server that never answers is cut off by the timeout", async () => {
    const silent = await listenSilently();
    const port = (silent.address() as { port: number }).port;
    try {
      const settings = settingsFor("silent", {
        githubProxyDomain: `http://127.0.0.1:${port}`,
        timeoutMs: 500,
      });
      const started = Date.now();
      const error = await getShaFromRemoteRef(STUDY, "main", settings).catch((e: unknown) => e);
      expect(error).toEqual(new GitRepoNotReachableError(STUDY));
      expect(String((error as Error).cause)).toContain("timed out after 500 ms");
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      silent.close();
    }
  });
});

describe("secrets and isolation", () => {
  const token = "ghp_SuperSecretToken0123456789";

  test("the token appears in no error, cause or log line", async () => {
    const closed = await freePort();
    const log = recordingLogger();
    const settings = settingsFor("token", {
      githubProxyDomain: `https://127.0.0.1:${closed}`,
      privateRepoAccessToken: token,
      log,
    });
    const basic = Buffer.from(`jobrunner-ctrl:${token}`).toString("base64");
    const errors = [
      await getShaFromRemoteRef(STUDY, "main", settings).catch((e: unknown) => e),
      await readFileFromRepo(STUDY, head, "project.yaml", settings).catch((e: unknown) => e),
      await checkRepository({ repoUrl: STUDY, commit: head, branch: "main" }, settings).catch(
        (e: unknown) => e,
      ),
      await readFileFromRepo(`https://x:${token}@github.com/opensafely/study`, head, "p", settings).catch(
        (e: unknown) => e,
      ),
    ];
    expect(errors.map((e) => (e as Error).message)).toEqual([
      `Could not read from ${STUDY}`,
      `Error fetching commit ${head} from ${STUDY}`,
      `Could not read from ${STUDY}`,
      expect.stringMatching(/^Repository URL https:\/\/\*{8}@github\.com\/opensafely\/study is not allowed/),
    ]);
    const text = [
      ...errors.map((e) => `${(e as Error).stack} ${String((e as Error).cause)}`),
      ...log.lines,
    ].join("\n");
    expect(log.lines.length).toBeGreaterThan(0);
    expect(text).not.toContain(token);
    expect(text).not.toContain(basic);
  });

  test("the user's git config and a repository around the cache are ignored", async () => {
    // Both would send every GitHub request to a repository that does not exist.
    const home = join(workdir, "evil-home");
    await mkdir(home, { recursive: true });
    await writeFile(
      join(home, ".gitconfig"),
      `[url "${server.url}/nowhere/"]\n\tinsteadOf = ${server.url}/\n`,
    );
    const outer = join(workdir, "outer");
    await mkdir(join(outer, "work"), { recursive: true });
    await git(outer, ["init", "--quiet"]);
    await git(outer, ["config", `url.${server.url}/nowhere/.insteadOf`, `${server.url}/`]);
    const savedHome = process.env.HOME;
    process.env.HOME = home;
    try {
      const settings = testSettings(join(outer, "work"), { githubProxyDomain: server.url });
      expect(await getShaFromRemoteRef(STUDY, "main", settings)).toBe(head);
      expect((await readFileFromRepo(STUDY, head, "project.yaml", settings))?.toString()).toBe("two");
    } finally {
      process.env.HOME = savedHome;
    }
  });
});

/** A TCP server on 127.0.0.1 that accepts connections and never says anything. */
function listenSilently(): Promise<Server> {
  const server = createServer(() => {});
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

/** A loopback port nothing listens on. */
async function freePort(): Promise<number> {
  const server = await listenSilently();
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
