/**
 * Issue 18: a pass reads only the jobs and tasks written since the last one (the ChangeFeed), and handles only the
 * jobs whose handling something it depends on may have changed (src/scheduler/affected.ts); none when nothing did. What must never happen: a change by another writer missed, on
 * either database: another process's cancel or create, an agent's report, a write of a transaction still running
 * while the pass read (and, on PostgreSQL, committed after a later one: the trap of numbering writes), or what the
 * clock alone changes (a heartbeat, a task's silence).
 */
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { sql } from "kysely";
import pino from "pino";
import { afterEach, expect, test } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import { openStorage } from "../../src/db/open.js";
import type { Storage } from "../../src/db/storage.js";
import { deterministicJobId } from "../../src/domain/ids.js";
import { cancelRequest } from "../../src/domain/transition.js";
import { Scheduler } from "../../src/scheduler/scheduler.js";
import { LoopSpans } from "../../src/telemetry/loop-spans.js";
import { FX_ACT } from "../jobs/fixtures.js";
import { testDatabaseIsPostgres } from "../support/postgres.js";
import { SYSTEM_ENV, type System, startSystem, T0_MS } from "../support/system.js";
import { finishedResults } from "../support/test-agent.js";
import { createRap, iso, project, studyRepo } from "./support.js";

let system: System;
const opened: Storage[] = [];
afterEach(async () => {
  for (const storage of opened.splice(0)) await storage.close();
  await system?.close();
});

const T0 = T0_MS / 1000;

/** Storage on a connection of its own, as another process (`rap cancel`, a replica) opens it. */
async function anotherProcess(): Promise<Storage> {
  const config = loadConfig({ ...SYSTEM_ENV, WORKDIR: system.workdir, ...system.databaseEnv });
  const storage = await openStorage(config.database);
  opened.push(storage);
  return storage;
}

/** A scheduler on `storage` with the system's settings and `env` over them; `loopSpans` if given. */
function schedulerOn(storage: Storage, env: Record<string, string>, loopSpans?: LoopSpans) {
  return new Scheduler({
    storage,
    config: loadConfig({ ...SYSTEM_ENV, WORKDIR: system.workdir, ...env }),
    clock: system.clock,
    digests: { resolve: async () => null },
    log: pino({ level: "silent" }),
    loopSpans,
  });
}

/** A scheduler on `storage` with one worker, whose LOOP_JOB spans say which jobs each pass handled. */
function tracedScheduler(storage: Storage, env: Record<string, string> = {}) {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const scheduler = schedulerOn(
    storage,
    { TEST_MAX_WORKERS: "1", ...env },
    new LoopSpans(provider.getTracer("loop"), provider.getTracer("ticks"), 3_600_000),
  );
  /** One pass; the actions of the jobs it handled. */
  const pass = async () => {
    exporter.reset();
    await scheduler.tick();
    return exporter
      .getFinishedSpans()
      .filter((span) => span.name === "LOOP_JOB")
      .map((span) => span.attributes["job.action"]);
  };
  return { scheduler, pass };
}

/**
 * The jobs a pass with nothing written handles: none. On PostgreSQL a pass's mark is the oldest transaction still
 * running anywhere on the server (transaction ids are the server's, not one database's), so while another database's
 * writer is mid-transaction (other test files share the test server) a pass reads that window again and handles
 * every job, changing nothing. Nothing writes here, so one of the next passes must be quiet.
 */
async function quietPass(pass: () => Promise<unknown[]>): Promise<unknown[]> {
  const tries = process.env.RAP_TEST_DATABASE === "postgres" ? 50 : 1;
  let handled = await pass();
  for (let i = 1; i < tries && handled.length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    handled = await pass();
  }
  return handled;
}

/**
 * The jobs a pass handled were these. On PostgreSQL a pass may read again a window of writes it has seen (its mark is
 * the oldest transaction running anywhere on the shared test server: see quietPass), and so handle more jobs, which
 * changes nothing: there, these at least.
 */
function expectHandled(handled: unknown[], expected: string[]): void {
  if (testDatabaseIsPostgres()) expect(handled).toEqual(expect.arrayContaining(expected));
  else expect(handled).toEqual(expected);
}

/** action1 running (its agent reported `executing`), action2 and action3 waiting on the one worker; passes steady. */
async function steady(env: Record<string, string> = {}) {
  system = await startSystem();
  const rap = await createRap(system, await studyRepo(FX_ACT), ["action1", "action2", "action3"]);
  const traced = tracedScheduler(system.controller.storage, env);
  expect(await traced.pass()).toEqual(["action1", "action2", "action3"]);
  const taskId = `${deterministicJobId(rap, "action1")}-001`;
  await system.agent().update(taskId, "executing", { timestampNs: T0 * 1e9 });
  // The next pass handles every job again (the first pass wrote each of them) and action1's report; the one after,
  // action1 alone (that pass's own write of it: a stage frees no worker, so the others wait on unhandled); then none.
  expect(await traced.pass()).toEqual(["action1", "action2", "action3"]);
  expectHandled(await traced.pass(), ["action1"]);
  expect(await quietPass(traced.pass)).toEqual([]);
  const codes = async () =>
    Object.fromEntries(
      Object.entries(await system.jobs(rap)).map(([action, job]) => [action, job.status_code]),
    );
  expect(await codes()).toEqual({
    action1: "executing",
    action2: "waiting_on_workers",
    action3: "waiting_on_workers",
  });
  return { rap, taskId, codes, ...traced };
}

test("another process's cancel, an agent's report and a new RAP are each seen by the next pass", async () => {
  const { rap, taskId, codes, pass } = await steady();
  const other = await anotherProcess();
  await other.jobs.markCancelled(rap, ["action3"], ["test"], cancelRequest(T0));
  // The cancelled job, and the one waiting for a worker on its backend (the cancel may free one); the running job,
  // untouched, is left alone.
  expectHandled(await pass(), ["action2", "action3"]);
  expect((await codes()).action3).toBe("cancelled_by_user");

  await system.agent().finish(taskId);
  await pass();
  expect(await codes()).toMatchObject({ action1: "succeeded", action2: "initiated" });

  const created = await createRap(system, await studyRepo(FX_ACT), ["action1"], { workspace: "elsewhere" });
  await pass();
  expect((await system.jobs(created)).action1.status_code).toBe("waiting_on_workers");
});

test("a running job cancelled frees its worker in the same pass: the job waiting for it starts", async () => {
  const { rap, codes, pass } = await steady();
  await (await anotherProcess()).jobs.markCancelled(rap, ["action1"], ["test"], cancelRequest(T0));
  await pass();
  expect(await codes()).toEqual({
    action1: "cancelled_by_user",
    action2: "initiated",
    action3: "waiting_on_workers",
  });
});

test("a write still in flight while a pass reads is seen by the next pass, whatever order writers commit in", async () => {
  const { rap, codes } = await steady();
  const { storage } = system.controller;
  const racer = await anotherProcess();
  let armed = false;
  // Between the lease and the read: a cancel of action2 begins and writes, but commits only after the read. On
  // PostgreSQL a cancel of action3 begins after it and commits before the read: numbered after the first, and seen.
  const racing: Storage = Object.create(storage, {
    changes: {
      value: {
        read: async (since?: number) => {
          if (!armed) return storage.changes.read(since);
          armed = false;
          let wrote!: () => void;
          let commit!: () => void;
          const written = new Promise<void>((resolve) => (wrote = resolve));
          const committing = new Promise<void>((resolve) => (commit = resolve));
          const inFlight = racer.transaction(async (stores) => {
            await stores.jobs.markCancelled(rap, ["action2"], ["test"], cancelRequest(T0));
            wrote();
            await committing;
          });
          await written;
          if (testDatabaseIsPostgres())
            await storage.jobs.markCancelled(rap, ["action3"], ["test"], cancelRequest(T0));
          const answer = await storage.changes.read(since);
          commit();
          await inFlight;
          return answer;
        },
      },
    },
  });
  const scheduler2 = schedulerOn(racing, { TEST_MAX_WORKERS: "1" });
  // Its first pass reads every job; the second, raced, what changed since.
  await scheduler2.tick();
  armed = true;
  await scheduler2.tick();
  expect((await codes()).action2).toBe("waiting_on_workers");
  if (testDatabaseIsPostgres()) expect((await codes()).action3).toBe("cancelled_by_user");
  await scheduler2.tick();
  expect((await codes()).action2).toBe("cancelled_by_user");
});

test("with nothing written, the clock still moves jobs: heartbeats after a minute, a silent task fails its job", async () => {
  // A lease that outlasts the clock's jumps: a pass after a lapse starts from a full read, which handles every job.
  const { rap, pass, codes } = await steady({ TASK_SILENCE_TIMEOUT: "300", SCHEDULER_LEASE_TTL: "3600" });
  system.clock.advance(30_000);
  expect(await quietPass(pass)).toEqual([]);
  // A minute after their last change, the waiting jobs' updated_at moves (a heartbeat), and the pass after that
  // (which reads its own writes) changes nothing more.
  system.clock.advance(31_000);
  expect(await pass()).toEqual(["action1", "action2", "action3"]);
  expect((await system.jobs(rap)).action2.updated_at).toBe(iso(T0 + 61));
  await pass();
  expect(await quietPass(pass)).toEqual([]);

  // The agent polls (its presence is what makes a task's silence count), then nothing is heard of the task.
  await system.agent().tasks();
  expect(await pass()).toEqual(["action1", "action2", "action3"]);
  expect(await quietPass(pass)).toEqual([]);
  system.clock.advance(301_000);
  await system.agent().tasks();
  await pass();
  expect(await codes()).toMatchObject({ action1: "internal_error", action2: "initiated" });
});

test("a scheduler that takes the lease back after another held it starts from a full read", async () => {
  system = await startSystem();
  await createRap(system, await studyRepo(FX_ACT), ["action1"]);
  const { storage } = system.controller;
  const reads: (number | undefined)[] = [];
  const counted: Storage = Object.create(storage, {
    changes: {
      value: {
        read: (since?: number) => {
          reads.push(since);
          return storage.changes.read(since);
        },
      },
    },
  });
  const env = { ...SYSTEM_ENV, WORKDIR: system.workdir, SCHEDULER_LEASE_TTL: "10" };
  const as = (holder: string, on: Storage) =>
    new Scheduler({
      storage: on,
      config: loadConfig(env),
      clock: system.clock,
      digests: { resolve: async () => null },
      log: pino({ level: "silent" }),
      holder,
    });
  const first = as("first", counted);
  await first.tick();
  await first.tick();
  expect(reads.map((since) => since === undefined)).toEqual([true, false]);
  // Its lease lapses; another scheduler takes it, runs a pass and gives it up; the first takes it back.
  system.clock.advance(11_000);
  const second = as("second", storage);
  await second.tick();
  await second.releaseLease();
  await first.tick();
  expect(reads.map((since) => since === undefined)).toEqual([true, false, true]);
});

test("a pass that outlasts the lease's time but renews it as it writes keeps its term: the next reads what changed", async () => {
  system = await startSystem();
  const rap = await createRap(system, await studyRepo(FX_ACT), ["action1"]);
  const { storage } = system.controller;
  const reads: (number | undefined)[] = [];
  let slowRead = false;
  const counted: Storage = Object.create(storage, {
    changes: {
      value: {
        read: async (since?: number) => {
          reads.push(since);
          // The pass's read takes longer than the lease's 10 s (a very large pass, a stalled machine).
          if (slowRead) system.clock.advance(11_000);
          slowRead = false;
          return storage.changes.read(since);
        },
      },
    },
  });
  const scheduler = schedulerOn(counted, { SCHEDULER_LEASE_TTL: "10" });
  await scheduler.tick();
  // A cancel to write, in a pass whose read outlasts the lease: it renews the lease as it writes the cancel.
  await storage.jobs.markCancelled(rap, ["action1"], ["test"], cancelRequest(1));
  slowRead = true;
  await scheduler.tick();
  expect((await system.jobs(rap)).action1.status_code).toBe("cancelled_by_user");
  await scheduler.tick();
  expect(reads.map((since) => since === undefined)).toEqual([true, false, false]);
});

/** A small deterministic generator (mulberry32): the same steps on every run. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test("after every pass, a pass over every job (a fresh scheduler's full read) finds nothing left to change", async () => {
  system = await startSystem();
  const repo = await studyRepo(
    project({
      prepare: { run: "python:v2 prepare.py" },
      left: { run: "python:v2 left.py", needs: ["prepare"] },
      right: { run: "python:v2 right.py", needs: ["prepare"] },
      join: { run: "python:v2 join.py", needs: ["left", "right"] },
      alone: { run: "python:v2 alone.py" },
    }),
  );
  const actions = ["prepare", "left", "right", "join", "alone"];
  const env = { TEST_MAX_WORKERS: "2" };
  const { pass } = tracedScheduler(system.controller.storage, env);
  const jobRows = async () => (await sql`select * from job order by seq`.execute(system.db)).rows;
  const next = random(18);
  const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(next() * items.length)];
  const raps: string[] = [];
  const history: string[] = [];
  for (let step = 0; step < 60; step++) {
    const tasks = await system.agent().tasks();
    const runJob = pick(tasks.filter((task) => task.type === "runjob"));
    const choice = next();
    if (raps.length === 0 || choice < 0.1) {
      const workspace = pick(["one", "two"])!;
      raps.push(await createRap(system, repo, actions, { workspace }));
      history.push(`create in ${workspace}`);
    } else if (runJob && choice < 0.45) {
      await system.agent().update(runJob.id, "executing", { timestampNs: system.clock.nowMs() * 1e6 });
      history.push(`executing ${runJob.id}`);
    } else if (runJob && choice < 0.75) {
      const failed = next() < 0.2;
      await system.agent().finish(runJob.id, finishedResults(failed ? { exit_code: "1" } : {}));
      history.push(`${failed ? "failed" : "finished"} ${runJob.id}`);
    } else if (choice < 0.82) {
      const rap = pick(raps)!;
      const action = pick(actions)!;
      await system.controller.storage.jobs.markCancelled(rap, [action], ["test"], cancelRequest(T0));
      history.push(`cancel ${action} of ${rap}`);
    } else if (choice < 0.9) {
      const paused = next() < 0.5;
      await system.controller.storage.flags.set(
        "test",
        "paused",
        paused ? "true" : null,
        system.clock.nowMs() / 1000,
      );
      history.push(paused ? "pause" : "unpause");
    } else {
      system.clock.advance(61_000);
      history.push("a minute passes");
    }
    await pass();
    const before = await jobRows();
    // A scheduler of its own (same lease holder: this process) reads every job and handles each.
    const { pass: fullPass } = tracedScheduler(system.controller.storage, env);
    await fullPass();
    expect(await jobRows(), history.join("\n")).toEqual(before);
  }
});
