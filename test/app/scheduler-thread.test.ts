/**
 * The controller's scheduler on a worker thread of its own (issue 18): passes run off the HTTP server's thread, on
 * their own connection to the same database (SQLite, or PostgreSQL in the `postgres` project), and what they report
 * comes back to the controller: status log lines, metrics in its one registry, the lease /readyz looks at. A thread
 * that ends unexpectedly is logged and replaced; `stop` lets the pass finish and releases the lease.
 */
import { Writable } from "node:stream";
import type { Worker } from "node:worker_threads";
import Database from "better-sqlite3";
import pino from "pino";
import { afterEach, expect, test } from "vitest";
import { SchedulerThread, startSchedulerWorker } from "../../src/app/scheduler-thread.js";
import { loadConfig } from "../../src/config/index.js";
import { openStorage } from "../../src/db/open.js";
import { type Clock, systemClock } from "../../src/domain/clock.js";
import { deterministicJobId } from "../../src/domain/ids.js";
import { processHolder } from "../../src/scheduler/lease.js";
import { FX_ACT } from "../jobs/fixtures.js";
import { createRap, studyRepo } from "../scheduler/support.js";
import { testDatabaseEnv } from "../support/db.js";
import { createTempDir, removeDir } from "../support/git-fixtures.js";
import { parsePrometheus } from "../support/prometheus.js";
import { SYSTEM_ENV, type System, startSystem } from "../support/system.js";

const OPERATOR = "operator-token";

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A logger keeping its lines, parsed. */
function capturingLog() {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino(
    { level: "info" },
    new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    }),
  );
  /** Resolves once a line matches (no deadline of its own: the test's timeout is the bound). */
  const until = async (match: (line: Record<string, unknown>) => boolean) => {
    while (!lines.some(match)) await new Promise((resolve) => setTimeout(resolve, 20));
    return lines.find(match)!;
  };
  return { log, lines, until };
}

async function system(env: Record<string, string>, log = pino({ level: "silent" })): Promise<System<Clock>> {
  const started = await startSystem<Clock>(
    { OPERATOR_TOKENS: OPERATOR, ...env },
    { clock: systemClock, log },
  );
  cleanups.push(() => started.close());
  return started;
}

async function scrape(url: string) {
  const response = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${OPERATOR}` } });
  return parsePrometheus(await response.text());
}

test("a pass runs on the scheduler's thread while the HTTP thread is blocked; its log lines and counts reach the controller", async () => {
  const { log, until } = capturingLog();
  const sut = await system({}, log);
  expect(sut.controller.scheduler).toBeInstanceOf(SchedulerThread);
  const rap = await createRap(sut, await studyRepo(FX_ACT), ["action1"]);
  const pass = sut.tick();
  if (sut.databaseEnv.DATABASE_URL === undefined) {
    // This thread waits without ever yielding: only a pass on another thread can start the job meanwhile.
    const file = new Database(`${sut.workdir}/db.sqlite`, { readonly: true });
    const read = file.prepare("select status_code from job").pluck();
    const deadline = Date.now() + 20_000;
    let code = read.get();
    while (code !== "initiated" && Date.now() < deadline) code = read.get();
    file.close();
    expect(code).toBe("initiated");
  }
  expect(await pass).toEqual({ jobs: 1, changed: 1, failed: 0 });
  expect((await sut.jobs(rap)).action1.status_code).toBe("initiated");
  expect(
    await until((line) => line.to === "initiated" && line.job === deterministicJobId(rap, "action1")),
  ).toMatchObject({ level: 30, msg: "Job executing on the backend", from: "created", backend: "test" });
  const metrics = await scrape(sut.url);
  expect(metrics.value("rap_jobs_started_total", { backend: "test" })).toBe(1);
  expect(metrics.value("rap_scheduler_pass_duration_seconds_count", {})).toBe(1);
  // The readiness endpoint sees the lease the thread's pass took, under this process's name.
  const ready = await fetch(`${sut.url}/readyz`);
  expect(await ready.json()).toEqual({ database: "ok", scheduler_lease: true });
  await sut.controller.scheduler.releaseLease();
});

test("a create wakes the thread's scheduler: its next pass runs at once, not after JOB_LOOP_INTERVAL", async () => {
  const sut = await system({ JOB_LOOP_INTERVAL: "3600" });
  sut.controller.scheduler.start();
  const passes = async () =>
    (await scrape(sut.url)).value("rap_scheduler_pass_duration_seconds_count", {}) ?? 0;
  while ((await passes()) < 1) await new Promise((resolve) => setTimeout(resolve, 20));
  // The create over HTTP calls the controller's wakeScheduler, which reaches the thread.
  const rap = await createRap(sut, await studyRepo(FX_ACT), ["action1"]);
  while ((await sut.jobs(rap)).action1.status_code !== "initiated")
    await new Promise((resolve) => setTimeout(resolve, 20));
  // The pass's count reaches this thread in a message after its writes are seen: waited for, then exactly one.
  while ((await passes()) < 2) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(await passes()).toBe(2);
});

test("a scheduler thread that ends unexpectedly is logged and replaced, and the loop goes on; stop releases the lease", async () => {
  const workdir = await createTempDir("rap-thread-");
  const database = await testDatabaseEnv();
  cleanups.push(() => removeDir(workdir), database.drop);
  const config = loadConfig({ ...SYSTEM_ENV, ...database.env, JOB_LOOP_INTERVAL: "3600", WORKDIR: workdir });
  const storage = await openStorage(config.database, { migrate: true });
  cleanups.push(() => storage.close());
  const { log, until } = capturingLog();
  const threads: Worker[] = [];
  let passes = 0;
  const scheduler = new SchedulerThread({
    config,
    holder: processHolder(),
    log,
    metrics: {
      passFinished: () => {
        passes += 1;
      },
      passFailed: () => {},
      jobStatusChanged: () => {},
      jobObserver: { statusChanged: () => {} },
      imageDigest: () => {},
    },
    startThread: (data) => {
      const thread = startSchedulerWorker(data);
      threads.push(thread);
      return thread;
    },
  });
  cleanups.push(() => scheduler.stop());
  const untilPasses = async (n: number) => {
    while (passes < n) await new Promise((resolve) => setTimeout(resolve, 20));
  };
  scheduler.start();
  await untilPasses(1);
  await threads[0]!.terminate();
  expect(
    await until((line) => String(line.msg).startsWith("the scheduler thread stopped unexpectedly")),
  ).toMatchObject({
    level: 50,
    msg: "the scheduler thread stopped unexpectedly: starting a new one in 1 s",
    err: { message: "the scheduler thread exited with code 1" },
  });
  // The new thread's loop starts with a pass, an hour before the old one's next.
  await untilPasses(2);
  expect(threads).toHaveLength(2);
  expect((await storage.lease.current())?.holder).toBe(processHolder());
  await scheduler.stop();
  expect((await storage.lease.current())?.holder).toBeUndefined();
});
