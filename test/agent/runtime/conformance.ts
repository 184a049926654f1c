/**
 * The behaviour every container runtime owes the job executor (src/agent/runtime/types.ts), run against each
 * implementation by its own test file. Jobs are real: python3 in the locally built test image for Docker, python3
 * on the host for the local runtime.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, expect, it } from "vitest";
import {
  type ContainerSpec,
  type ContainerState,
  type ContainerStats,
  type Runtime,
  RuntimeTimeoutError,
} from "../../../src/agent/runtime/types.js";

export interface ConformanceTarget {
  /** A runtime object; called again to stand for the agent after a restart (same daemon, same state on disk). */
  create(options?: { logMaxBytes?: number }): Runtime;
  /** Removes a running container behind the runtime's back, as `docker rm -f` by someone else would. */
  removeFromOutside(name: string): Promise<void>;
  /** The image the jobs name; python3 is its entrypoint (Docker) or its mapped command (local). */
  image: string;
}

const RFC3339_NANO_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z /;

/** A fresh job container name, a temp volume directory, and cleanup of both after each test. */
export function jobFixtures(runtime: () => Runtime) {
  const names: string[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const name of names.splice(0)) await runtime().remove(name);
  });
  afterAll(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return {
    name(): string {
      const name = `os-job-rt${randomBytes(5).toString("hex")}`;
      names.push(name);
      return name;
    },
    volume(): string {
      const dir = mkdtempSync(join(tmpdir(), "rap-volume-"));
      // Writable by a job that runs as another user.
      chmodSync(dir, 0o777);
      dirs.push(dir);
      return dir;
    },
  };
}

export function jobSpec(
  image: string,
  fixtures: ReturnType<typeof jobFixtures>,
  overrides: Partial<ContainerSpec> & { code: string },
): ContainerSpec {
  const { code, ...rest } = overrides;
  return {
    name: fixtures.name(),
    image,
    args: ["-c", code],
    env: {},
    volumeDir: fixtures.volume(),
    cpuCount: null,
    memoryLimit: null,
    network: { kind: "none" },
    user: null,
    labels: { workspace: "conformance", action: "test_action" },
    ...rest,
  };
}

/** Polls until the container is no longer running; fails the test if it never ends. */
export async function waitForExit(
  runtime: Runtime,
  name: string,
  timeoutMs = 20_000,
): Promise<ContainerState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await runtime.inspect(name);
    if (state && !state.running) return state;
    if (Date.now() > deadline)
      throw new Error(`${name} still running after ${timeoutMs} ms: ${JSON.stringify(state)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Polls until the job has written `file` into its volume (it is then running, or has been). */
async function waitForFile(path: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`${path} never appeared`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Polls `stats` until the job's sample shows at least `memoryBytes`; fails the test if it never does. */
async function waitForStats(
  runtime: Runtime,
  jobId: string,
  memoryBytes: number,
  timeoutMs = 20_000,
): Promise<ContainerStats> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mine = (await runtime.stats()).find((s) => s.jobId === jobId);
    if (mine && mine.memoryBytes >= memoryBytes) return mine;
    if (Date.now() > deadline)
      throw new Error(`no stats of ${jobId} over ${memoryBytes} bytes: ${JSON.stringify(mine)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * That a runtime remembers which containers it started (`wasStarted`), the part of the contract the in-memory fake
 * can keep too: it runs against every runtime, the fake included.
 */
export function describeStartRecordConformance(target: () => ConformanceTarget): void {
  const runtime = () => target().create();
  const fixtures = jobFixtures(runtime);

  it("remembers that it started a container, across a restart, until its own remove", async () => {
    const job = jobSpec(target().image, fixtures, { code: "import time; time.sleep(120)" });
    expect(await runtime().wasStarted(job.name)).toBe(false);
    await runtime().start(job);
    expect(await runtime().inspect(job.name)).not.toBeNull();
    expect(await runtime().wasStarted(job.name)).toBe(true);
    // Removed by someone else mid-run: gone from inspect, still known to have been started (after a restart too).
    await target().removeFromOutside(job.name);
    expect(await runtime().inspect(job.name)).toBeNull();
    expect(await runtime().wasStarted(job.name)).toBe(true);
    await runtime().remove(job.name);
    expect(await runtime().wasStarted(job.name)).toBe(false);
  });
}

export function describeRuntimeConformance(target: () => ConformanceTarget): void {
  const runtime = () => target().create();
  const fixtures = jobFixtures(runtime);
  const spec = (overrides: Partial<ContainerSpec> & { code: string }) =>
    jobSpec(target().image, fixtures, overrides);
  describeStartRecordConformance(target);

  it("runs a job in its volume: the file it writes is there and it exits 0", async () => {
    const rt = runtime();
    const job = spec({ code: "open('output.txt', 'w').write('written by the job')" });
    expect(await rt.ensureImage(target().image, null)).toBe(target().image);
    await rt.start(job);
    const state = await waitForExit(rt, job.name);
    expect(state.exitCode).toBe(0);
    expect(state.oomKilled).toBe(false);
    expect(state.startedAtNs).toBeGreaterThan(Date.parse("2024-01-01") * 1e6);
    expect(state.finishedAtNs).toBeGreaterThanOrEqual(state.startedAtNs!);
    expect(state.metadata).toHaveProperty("State");
    expect(readFileSync(join(job.volumeDir, "output.txt"), "utf8")).toBe("written by the job");
  });

  it("reports the job's own exit code", async () => {
    const rt = runtime();
    const job = spec({ code: "import sys; sys.exit(3)" });
    await rt.start(job);
    expect((await waitForExit(rt, job.name)).exitCode).toBe(3);
  });

  it("answers null, and does not fail, for a container that does not exist", async () => {
    const rt = runtime();
    const name = fixtures.name();
    expect(await rt.inspect(name)).toBeNull();
    await rt.kill(name);
    await rt.remove(name);
    expect(await rt.logs(name)).toBe("");
    const followed: Buffer[] = [];
    for await (const chunk of rt.follow(name, new AbortController().signal)) followed.push(chunk);
    expect(followed).toEqual([]);
  });

  it("follows a running job's output as it is written, and ends with the job", async () => {
    const rt = runtime();
    // The job waits for a file the test writes only once it has read the first line: proof it was read live.
    const job = spec({
      code: [
        "import os, sys, time",
        "print('before', flush=True)",
        "while not os.path.exists('go'): time.sleep(0.05)",
        "print('after', file=sys.stderr, flush=True)",
      ].join("\n"),
    });
    await rt.start(job);
    let text = "";
    let released = false;
    for await (const chunk of runtime().follow(job.name, new AbortController().signal)) {
      text += chunk.toString("utf8");
      if (!released && text.includes("before\n")) {
        expect((await rt.inspect(job.name))?.running).toBe(true);
        writeFileSync(join(job.volumeDir, "go"), "");
        released = true;
      }
    }
    expect((await rt.inspect(job.name))?.running).toBe(false);
    expect(text.split("\n").map((line) => line.replace(RFC3339_NANO_LINE, ""))).toEqual([
      "before",
      "after",
      "",
    ]);
    expect(text).toBe(await rt.logs(job.name));
  });

  it("stops following when the signal aborts, leaving the job running", async () => {
    const rt = runtime();
    const job = spec({ code: "import time\nprint('started', flush=True)\ntime.sleep(60)" });
    await rt.start(job);
    const stop = new AbortController();
    let text = "";
    for await (const chunk of rt.follow(job.name, stop.signal)) {
      text += chunk.toString("utf8");
      if (text.includes("started\n")) stop.abort();
    }
    expect((await rt.inspect(job.name))?.running).toBe(true);
    await rt.kill(job.name);
  });

  it("removes a job killed a moment before, its end not yet recorded, leaving nothing behind", async () => {
    const rt = runtime();
    for (let round = 0; round < 5; round++) {
      const job = spec({ code: "import time; open('started', 'w').close(); time.sleep(60)" });
      await rt.start(job);
      await waitForFile(join(job.volumeDir, "started"));
      await rt.kill(job.name);
      await rt.remove(job.name);
      expect(await rt.inspect(job.name)).toBeNull();
    }
  });

  it("starts a container only once: a second start of the same name is a no-op", async () => {
    const rt = runtime();
    const first = spec({ code: "open('runs.txt', 'a').write('first\\n')" });
    await rt.start(first);
    await waitForExit(rt, first.name);
    await rt.start({ ...first, args: ["-c", "open('runs.txt', 'a').write('second\\n')"] });
    const state = await waitForExit(rt, first.name);
    expect(state.exitCode).toBe(0);
    expect(readFileSync(join(first.volumeDir, "runs.txt"), "utf8")).toBe("first\n");
  });

  it("keeps state across an agent restart: a new runtime object sees the job running, then kills it", async () => {
    const job = spec({ code: "import time; open('started', 'w').close(); time.sleep(120)" });
    await runtime().start(job);
    await waitForFile(join(job.volumeDir, "started"));
    const afterRestart = runtime();
    const running = await afterRestart.inspect(job.name);
    expect(running?.running).toBe(true);
    expect(running?.exitCode).toBeNull();
    expect(running?.finishedAtNs).toBeNull();
    await afterRestart.kill(job.name);
    const ended = await waitForExit(runtime(), job.name);
    expect(ended.exitCode).toBe(137);
    expect(ended.oomKilled).toBe(false);
  });

  it("keeps how a job ended across an agent restart", async () => {
    const job = spec({ code: "import sys; sys.exit(7)" });
    const rt = runtime();
    await rt.start(job);
    const before = await waitForExit(rt, job.name);
    const after = await runtime().inspect(job.name);
    expect(after).toMatchObject({ running: false, exitCode: 7, startedAtNs: before.startedAtNs });
    expect(after?.finishedAtNs).toBe(before.finishedAtNs);
  });

  it("returns stdout and stderr merged in order, each line prefixed with an RFC 3339 timestamp", async () => {
    const rt = runtime();
    const job = spec({
      code: [
        "import sys, time",
        "print('first on stdout', flush=True)",
        "time.sleep(0.2)",
        "print('second on stderr', file=sys.stderr, flush=True)",
        "time.sleep(0.2)",
        "print('third on stdout', flush=True)",
      ].join("\n"),
    });
    await rt.start(job);
    await waitForExit(rt, job.name);
    const lines = (await rt.logs(job.name)).split("\n");
    expect(lines.pop()).toBe("");
    expect(lines.map((line) => line.replace(RFC3339_NANO_LINE, ""))).toEqual([
      "first on stdout",
      "second on stderr",
      "third on stdout",
    ]);
    for (const line of lines) expect(line).toMatch(RFC3339_NANO_LINE);
    // The same text after an agent restart.
    expect(await runtime().logs(job.name)).toBe(`${lines.join("\n")}\n`);
  });

  it("keeps at most JOB_LOG_MAX_BYTES of a job's output printed without a newline, noting what was left out", async () => {
    const rt = target().create({ logMaxBytes: 256 * 1024 });
    // 8 MiB on one line, then a last line: the end of the log is what a researcher needs.
    const job = spec({
      code: "import sys\nfor _ in range(128): sys.stdout.write('x' * 65536)\nsys.stdout.write('\\nthe end\\n')",
    });
    await rt.start(job);
    expect((await waitForExit(rt, job.name)).exitCode).toBe(0);
    const text = await rt.logs(job.name);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(256 * 1024 + 300);
    const [note] = text.split("\n", 1);
    expect(note).toMatch(
      /^\[… [\d,]+ bytes of earlier output were left out of this log: it keeps the job's last 100,000 lines, at most 262,144 bytes \(JOB_LOG_MAX_BYTES\) …\]$/,
    );
    const left = Number(/[\d,]+/.exec(note ?? "")?.[0]?.replaceAll(",", ""));
    expect(left).toBeGreaterThan(8 * 1024 * 1024 - 256 * 1024);
    // Docker stamps each 16 KiB piece of a long line; how the pieces join differs by runtime, the end does not.
    expect(text.slice(-60)).toMatch(/\d{4}-\d\d-\d\dT[\d:.]+Z the end\n$/);
  });

  it("kills a running job with SIGKILL: exit code 137", async () => {
    const rt = runtime();
    const job = spec({ code: "import time; open('started', 'w').close(); time.sleep(120)" });
    await rt.start(job);
    await waitForFile(join(job.volumeDir, "started"));
    await rt.kill(job.name);
    expect((await waitForExit(rt, job.name)).exitCode).toBe(137);
    // Killing a job that has ended is not an error.
    await rt.kill(job.name);
  });

  it("removes a container, running or not", async () => {
    const rt = runtime();
    const job = spec({ code: "import time; open('started', 'w').close(); time.sleep(120)" });
    await rt.start(job);
    await waitForFile(join(job.volumeDir, "started"));
    await rt.remove(job.name);
    expect(await rt.inspect(job.name)).toBeNull();
    // The name is free again.
    await rt.start({ ...job, args: ["-c", "pass"] });
    expect((await waitForExit(rt, job.name)).exitCode).toBe(0);
  });

  it("passes environment values to the job without putting them on any command line", async () => {
    const rt = runtime();
    const secret = `value-${randomBytes(8).toString("hex")}`;
    const job = spec({
      env: { RAP_TEST_SECRET: secret },
      code: [
        "import os",
        "value = os.environ['RAP_TEST_SECRET'].encode()",
        "seen = []",
        "for pid in filter(str.isdigit, os.listdir('/proc')):",
        "    try:",
        "        if value in open(f'/proc/{pid}/cmdline', 'rb').read(): seen.append(pid)",
        "    except OSError:",
        "        pass",
        "open('env.txt', 'w').write(os.environ['RAP_TEST_SECRET'] + ' ' + str(len(seen)))",
      ].join("\n"),
    });
    await rt.start(job);
    expect((await waitForExit(rt, job.name)).exitCode).toBe(0);
    expect(readFileSync(join(job.volumeDir, "env.txt"), "utf8")).toBe(`${secret} 0`);
  });

  it("reports usage of running job containers", async () => {
    const rt = runtime();
    const job = spec({
      code: "import time; block = b'x' * (64 * 1024 * 1024); open('started', 'w').close(); time.sleep(120)",
    });
    await rt.start(job);
    await waitForFile(join(job.volumeDir, "started"));
    // A runtime whose jobs run elsewhere samples them (Slurm's, once a second): the sample after the allocation.
    const mine = await waitForStats(rt, job.name.slice("os-job-".length), 60 * 1024 * 1024);
    expect(mine.memoryBytes).toBeGreaterThan(60 * 1024 * 1024);
    expect(mine.cpuPercent).toBeGreaterThanOrEqual(0);
    expect(mine.createdAt).toBeGreaterThan(Date.parse("2024-01-01") / 1000);
    await rt.remove(job.name);
    expect((await rt.stats()).find((s) => s.jobId === mine.jobId)).toBeUndefined();
  });

  it("runs a one-off command to completion and returns its output", async () => {
    const rt = runtime();
    const {
      name: _name,
      volumeDir: _volume,
      ...oneOff
    } = spec({
      code: "import sys; print('line 1'); print('db-maintenance;1'); print('warning', file=sys.stderr); sys.exit(5)",
    });
    const result = await rt.runToCompletion({
      ...oneOff,
      env: { DATABASE_URL: "mssql://x" },
      timeoutMs: 20_000,
    });
    expect(result).toEqual({ exitCode: 5, stdout: "line 1\ndb-maintenance;1\n", stderr: "warning\n" });
  });

  it("stops a one-off command that outlives its timeout", async () => {
    const rt = runtime();
    const { name: _name, volumeDir: _volume, ...oneOff } = spec({ code: "import time; time.sleep(120)" });
    await expect(rt.runToCompletion({ ...oneOff, timeoutMs: 1000 })).rejects.toBeInstanceOf(
      RuntimeTimeoutError,
    );
  });
}
