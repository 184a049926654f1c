/**
 * The long-lived `git cat-file --batch` reader (src/git/blob-reader.ts), on real repositories: answers in order
 * whatever their sizes, objects fetched after it started, a process killed under it, and that it never keeps Node
 * running once its reads are answered.
 */
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { closeBlobReaders, readBlob } from "../../src/git/blob-reader.js";
import { gitEnv } from "../../src/git/env.js";
import { commitFiles, createStudyRepo, createTempDir, git, removeDir } from "../support/git-fixtures.js";

let workdir: string;
let repo: string;
let first: string;
const large = randomBytes(3 * 1024 * 1024); // far more than a pipe's buffer, and bytes of every value

beforeAll(async () => {
  workdir = await createTempDir("rap-blob-reader-");
  const study = await createStudyRepo({
    path: join(workdir, "study"),
    files: { "a.txt": "a\n", "empty.txt": "", "dir/large.bin": large, "with space.txt": "s" },
  });
  repo = study.path;
  first = study.commits[0]!;
});
afterAll(() => removeDir(workdir));

const options = (timeoutMs = 10_000) => ({
  gitDir: repo,
  cwd: workdir,
  env: gitEnv({ reposDir: workdir, gitDir: repo }),
  timeoutMs,
});

/** This process's own `git cat-file --batch` children, by pid. */
function ourBatchProcesses(): number[] {
  const out = execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(process.pid)], { encoding: "utf8" });
  return out
    .split("\n")
    .filter((line) => line.includes("cat-file --batch"))
    .map((line) => Number(line.trim().split(" ")[0]));
}

test("reads sent at once are answered in order: blobs of any size, missing paths, a directory", async () => {
  const names = ["a.txt", "dir/large.bin", "nope.txt", "empty.txt", "dir", "with space.txt", "a.txt"];
  const answers = await Promise.all(names.map((name) => readBlob(`${first}:${name}`, options())));
  expect(answers.map((a) => (a.kind === "blob" ? a.bytes.length : a.kind))).toEqual([
    2,
    large.length,
    "missing",
    0,
    "not-a-blob",
    1,
    2,
  ]);
  const [a, big] = answers;
  expect(a).toEqual({ kind: "blob", bytes: Buffer.from("a\n") });
  expect(big?.kind === "blob" && big.bytes.equals(large)).toBe(true);
  expect(answers[4]).toEqual({ kind: "not-a-blob", type: "tree" });
  expect(ourBatchProcesses()).toHaveLength(1);
});

test("an object committed after the process started is found", async () => {
  await readBlob(`${first}:a.txt`, options());
  const later = await commitFiles(repo, { "later.txt": "later\n" }, "later");
  expect(await readBlob(`${later}:later.txt`, options())).toEqual({
    kind: "blob",
    bytes: Buffer.from("later\n"),
  });
});

test("a process killed between reads is replaced: the next read still answers", async () => {
  await readBlob(`${first}:a.txt`, options());
  const [pid] = ourBatchProcesses();
  process.kill(pid!, "SIGKILL");
  expect(await readBlob(`${first}:a.txt`, options())).toEqual({ kind: "blob", bytes: Buffer.from("a\n") });
  expect(ourBatchProcesses()).not.toContain(pid);
});

test("a name with a line break is refused without asking git", async () => {
  expect(await readBlob(`${first}:a.txt\n${first}:empty.txt`, options())).toEqual({
    kind: "failed",
    failure: "a name with a line break",
  });
});

test("a process that never answers in time fails the read, and is ended", async () => {
  // A repository whose objects cannot be read: git waits on a FIFO standing in for its pack index, never answering.
  const stuck = join(workdir, "stuck.git");
  await git(workdir, ["init", "--bare", "--quiet", stuck]);
  execFileSync("mkfifo", [join(stuck, "objects", "info", "alternates")]);
  const before = ourBatchProcesses();
  const answer = await readBlob(`${first}:a.txt`, { ...options(300), gitDir: stuck });
  expect(answer).toMatchObject({ kind: "failed", failure: "git cat-file --batch timed out after 300 ms" });
  await expect.poll(ourBatchProcesses).toEqual(before);
});

/** Runs `script` (an ES module, the reader imported as `readBlob` and `closeBlobReaders`) in a Node of its own. */
function inNode(script: string): Promise<string> {
  const imports = `const { readBlob, closeBlobReaders } = await import(${JSON.stringify(resolve("src/git/blob-reader.ts"))});`;
  return new Promise<string>((done, fail) =>
    execFile(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", `${imports}\n${script}`],
      { timeout: 30_000 },
      (error, stdout) => (error ? fail(error) : done(stdout)),
    ),
  );
}

test("once its reads are answered, the reader does not keep Node running", async () => {
  const output = await inNode(`
    const answer = await readBlob(${JSON.stringify(`${first}:a.txt`)}, ${JSON.stringify(options())});
    process.stdout.write(answer.bytes.toString());
  `);
  // The reader's idle end is a minute away: a Node kept running by it would be killed by the timeout above.
  expect(output).toBe("a\n");
});

test("closing the readers is waited for even when nothing else keeps Node running", async () => {
  // An agent's last step as it stops: had the wait let the event loop empty, Node would end before it returned.
  const output = await inNode(`
    await readBlob(${JSON.stringify(`${first}:a.txt`)}, ${JSON.stringify(options())});
    await closeBlobReaders(${JSON.stringify(workdir)});
    process.stdout.write("closed");
  `);
  expect(output).toBe("closed");
});

test("closing the readers under a directory ends their processes, and only theirs; a later read starts anew", async () => {
  const other = await createStudyRepo({ path: join(workdir, "elsewhere", "other"), files: { "b.txt": "b" } });
  const otherOptions = { ...options(), gitDir: other.path };
  await readBlob(`${first}:a.txt`, options());
  const before = ourBatchProcesses();
  await readBlob(`${other.commits[0]}:b.txt`, otherOptions);
  const [otherPid] = ourBatchProcesses().filter((pid) => !before.includes(pid));
  await closeBlobReaders(join(workdir, "elsewhere"));
  // Waited for: the process has exited by the time the close resolves.
  expect(ourBatchProcesses()).toEqual(before);
  expect(ourBatchProcesses()).not.toContain(otherPid);
  expect(await readBlob(`${other.commits[0]}:b.txt`, otherOptions)).toEqual({
    kind: "blob",
    bytes: Buffer.from("b"),
  });
  await closeBlobReaders(workdir);
  expect(ourBatchProcesses()).toEqual([]);
});
