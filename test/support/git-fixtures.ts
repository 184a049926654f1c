/**
 * Real git repositories for tests, built in temp dirs with the system git (no mocks), and a local smart-HTTP git
 * server on 127.0.0.1 standing in for GitHub (through the GitHub proxy setting).
 *
 *   const repo = await createStudyRepo({ files: { "project.yaml": yaml } });     // bare repo, one commit on main
 *   const next = await commitFiles(repo.path, { "a.txt": "x" }, "second");       // returns the new sha
 *   await tag(repo.path, "v1", next, { message: "release" });                     // annotated; omit message: lightweight
 *   const server = await startGitServer(root);  // serves <root>/<org>/<repo> at `${server.url}/<org>/<repo>`
 *   ...  githubProxyDomain: server.url  ...     // https://github.com/<org>/<repo> now reaches the local server
 *   await server.close();
 *
 * Commits get a fixed identity and increasing fixed timestamps; the user's git config is never read.
 */
import { execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** File path → contents; null deletes the file in that commit. */
export type FileChanges = Record<string, string | Uint8Array | null>;

export interface StudyRepo {
  /** The bare repository's directory (an absolute path, usable as a local repo_url). */
  readonly path: string;
  readonly branch: string;
  /** The commits created, oldest first; the last is the branch head. */
  readonly commits: string[];
}

export interface CommitSpec {
  readonly files: FileChanges;
  readonly message: string;
}

const AUTHOR_NAME = "Test Author";
const AUTHOR_EMAIL = "test@example.invalid";
const IDENTITY = `${AUTHOR_NAME} <${AUTHOR_EMAIL}>`;
let clock = 1_700_000_000;

/** The environment fixture git commands run with: no user config, fixed identity. */
function fixtureEnv(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: tmpdir(),
    LC_ALL: "C",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_COMMITTER_NAME: AUTHOR_NAME,
    GIT_COMMITTER_EMAIL: AUTHOR_EMAIL,
  };
}

/** Runs git in `cwd` (for a bare repo: its directory) and returns stdout; throws with stderr on failure. */
export function git(cwd: string, args: string[], input?: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      "git",
      args,
      { cwd, env: fixtureEnv(), maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`git ${args.join(" ")} failed in ${cwd}: ${stderr || error.message}`));
        else resolve(stdout);
      },
    );
    if (input) child.stdin?.end(input);
  });
}

/** A fresh directory under the OS temp dir. Remove it with removeDir. */
export function createTempDir(prefix = "rap-git-"): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export function removeDir(path: string): Promise<void> {
  return rm(path, { recursive: true, force: true });
}

/**
 * Creates a bare repository with one commit of `files` (default: a README) on `branch` (default `main`), which is
 * also its HEAD. `path` picks the directory (created if needed), e.g. `<server root>/opensafely/study`; by default
 * a new temp dir. Like GitHub, it lets clients fetch any reachable commit by sha.
 */
export async function createStudyRepo(
  options: { files?: FileChanges; branch?: string; path?: string; message?: string } = {},
): Promise<StudyRepo> {
  const branch = options.branch ?? "main";
  const path = options.path ?? (await createTempDir("rap-study-"));
  await mkdir(path, { recursive: true });
  await git(path, ["init", "--bare", "--quiet", `--initial-branch=${branch}`]);
  await git(path, ["config", "uploadpack.allowReachableSHA1InWant", "true"]);
  const sha = await commitFiles(
    path,
    options.files ?? { "README.md": "A study\n" },
    options.message ?? "Initial",
    {
      branch,
    },
  );
  return { path, branch, commits: [sha] };
}

/**
 * Adds one commit changing `files` on `branch` (default `main`) and returns its sha. The parent is the branch
 * head (for a new branch: HEAD's commit, as `git switch -c` would), or `parent` when given (null: a new root
 * commit); the branch is moved to the new commit.
 */
export async function commitFiles(
  repo: string,
  files: FileChanges,
  message: string,
  options: { branch?: string; parent?: string | null } = {},
): Promise<string> {
  const [sha] = await commitSeries(repo, [{ files, message }], options);
  return sha!;
}

/**
 * Adds a linear series of commits to `branch` in one git process (fast for long histories) and returns their
 * shas, oldest first. Parent rules as commitFiles.
 */
export async function commitSeries(
  repo: string,
  commits: readonly CommitSpec[],
  options: { branch?: string; parent?: string | null } = {},
): Promise<string[]> {
  const branch = options.branch ?? "main";
  const ref = `refs/heads/${branch}`;
  const parent =
    options.parent === undefined
      ? ((await resolveRef(repo, ref)) ?? (await resolveRef(repo, "HEAD")))
      : options.parent;
  const chunks: Buffer[] = [];
  const text = (s: string) => chunks.push(Buffer.from(s));
  const data = (bytes: Buffer) => {
    text(`data ${bytes.length}\n`);
    chunks.push(bytes);
    text("\n");
  };
  commits.forEach((commit, i) => {
    clock += 1;
    text(`commit ${ref}\ncommitter ${IDENTITY} ${clock} +0000\n`);
    data(Buffer.from(`${commit.message}\n`));
    // Later commits follow the previous one; a first commit without `from` becomes a root commit.
    if (i === 0 && parent) text(`from ${parent}\n`);
    for (const [path, contents] of Object.entries(commit.files)) {
      if (/[\n"]/.test(path)) throw new Error(`unsupported file path ${JSON.stringify(path)}`);
      if (contents === null) {
        text(`D ${path}\n`);
      } else {
        text(`M 100644 inline ${path}\n`);
        data(Buffer.from(contents));
      }
    }
    text("\n");
  });
  await git(repo, ["fast-import", "--quiet", "--force"], Buffer.concat(chunks));
  const shas = (await git(repo, ["rev-list", `--max-count=${commits.length}`, ref])).trim().split("\n");
  return shas.reverse();
}

/** Points branch `name` at `sha` (creating or moving it). */
export async function createBranch(repo: string, name: string, sha: string): Promise<void> {
  await git(repo, ["update-ref", `refs/heads/${name}`, sha]);
}

/** Tags `sha` as `name`: an annotated tag when `message` is given, else a lightweight one. */
export async function tag(
  repo: string,
  name: string,
  sha: string,
  options: { message?: string } = {},
): Promise<void> {
  const annotation = options.message === undefined ? [] : ["-a", "-m", options.message];
  await git(repo, ["tag", ...annotation, name, sha]);
}

async function resolveRef(repo: string, ref: string): Promise<string | null> {
  try {
    return (await git(repo, ["rev-parse", "--verify", "--quiet", ref])).trim();
  } catch {
    return null;
  }
}

export interface GitServer {
  /** `http://127.0.0.1:<port>`; repositories are at `<url>/<org>/<repo>` (with or without `.git`). */
  readonly url: string;
  /** Every request received, as `METHOD /path?query`, in order. */
  readonly requests: string[];
  /** The next `count` requests get their connection reset (as a flaky network would). */
  resetNextRequests(count: number): void;
  close(): Promise<void>;
}

/**
 * Serves the bare repositories under `rootDir`, laid out as `<org>/<repo>` (or `<org>/<repo>.git`), over git's
 * smart HTTP protocol (`git http-backend` behind a Node HTTP server) on 127.0.0.1 and a free port. Read-only.
 */
export async function startGitServer(rootDir: string): Promise<GitServer> {
  const requests: string[] = [];
  let resets = 0;
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (resets > 0) {
      resets -= 1;
      req.socket.resetAndDestroy();
      return;
    }
    serveGit(rootDir, req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    resetNextRequests(count) {
      resets = count;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

async function serveGit(rootDir: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://127.0.0.1");
  const match = /^\/([^/]+)\/([^/]+?)(?:\.git)?(\/.*)$/.exec(url.pathname);
  const repoDir = match ? await findRepo(rootDir, match[1]!, match[2]!) : null;
  if (!match || !repoDir) {
    res.writeHead(404, { "Content-Type": "text/plain" });
    res.end("Repository not found\n");
    return;
  }
  const env: Record<string, string> = {
    ...fixtureEnv(),
    GIT_PROJECT_ROOT: rootDir,
    GIT_HTTP_EXPORT_ALL: "1",
    PATH_INFO: `/${repoDir}${match[3]}`,
    REQUEST_METHOD: req.method ?? "GET",
    QUERY_STRING: url.search.slice(1),
    REMOTE_ADDR: "127.0.0.1",
  };
  const headers: Record<string, string | undefined> = {
    CONTENT_TYPE: req.headers["content-type"],
    CONTENT_LENGTH: req.headers["content-length"],
    HTTP_CONTENT_ENCODING: req.headers["content-encoding"],
    GIT_PROTOCOL: req.headers["git-protocol"] as string | undefined,
  };
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) env[name] = value;
  const child = spawn("git", ["http-backend"], { env, stdio: ["pipe", "pipe", "ignore"] });
  req.pipe(child.stdin);
  await relayCgiResponse(child.stdout, res);
}

/** The repository directory relative to the root, as `<org>/<repo>` or `<org>/<repo>.git`, if it exists. */
async function findRepo(rootDir: string, org: string, repo: string): Promise<string | null> {
  for (const candidate of [`${org}/${repo}`, `${org}/${repo}.git`]) {
    try {
      if ((await stat(join(rootDir, candidate))).isDirectory()) return candidate;
    } catch {
      // Try the next layout.
    }
  }
  return null;
}

/** Copies a CGI response (header lines, a blank line, the body) to the HTTP response. */
function relayCgiResponse(stdout: NodeJS.ReadableStream, res: ServerResponse): Promise<void> {
  return new Promise((resolve, reject) => {
    let head = Buffer.alloc(0);
    let inBody = false;
    stdout.on("data", (chunk: Buffer) => {
      if (inBody) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end === -1) return;
      inBody = true;
      let status = 200;
      for (const line of head.subarray(0, end).toString("latin1").split("\r\n")) {
        const colon = line.indexOf(":");
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === "status") status = Number.parseInt(value, 10);
        else res.setHeader(name, value);
      }
      res.statusCode = status;
      res.write(head.subarray(end + 4));
    });
    stdout.on("end", () => {
      if (!inBody) res.writeHead(502);
      res.end();
      resolve();
    });
    stdout.on("error", reject);
  });
}
