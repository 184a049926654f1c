/**
 * DESIGN DECISIONS 4–6 and 8: one bad job never stops the loop, a job that keeps failing is failed with a clear
 * message, a writer racing the loop is detected rather than overwritten, and a loop killed mid-pass loses nothing
 * and starts no job twice.
 */
import { spawn } from "node:child_process";
import pino from "pino";
import { afterEach, expect, test } from "vitest";
import { createScheduler } from "../../src/app/scheduler.js";
import { loadConfig } from "../../src/config/index.js";
import type { Storage } from "../../src/db/storage.js";
import { deterministicJobId } from "../../src/domain/ids.js";
import { LeaseLostError } from "../../src/scheduler/lease.js";
import { type ImageDigests, Scheduler } from "../../src/scheduler/scheduler.js";
import { FX_ACT } from "../jobs/fixtures.js";
import { cliPath } from "../support/cli.js";
import { SYSTEM_ENV, type System, startSystem } from "../support/system.js";
import { finishedResults } from "../support/test-agent.js";
import { createRap, project, studyRepo } from "./support.js";

let system: System;
afterEach(async () => system?.close());

const silent = pino({ level: "silent" });

test("a job whose handling keeps failing never holds up the others, and fails with internal_error after the bound", async () => {
  system = await startSystem({ BACKENDS: "test,gone", GONE_CLIENT_TOKENS: "test_token" });
  const repo = await studyRepo(FX_ACT);
  const orphan = await createRap(system, repo, ["action1"], { backend: "gone" });
  // The operator removes `gone` from BACKENDS while it still has a pending job (the reference crash-loops here).
  const config = loadConfig({
    ...SYSTEM_ENV,
    BACKENDS: "test",
    MAX_TASK_RETRIES: "3",
    WORKDIR: system.workdir,
  });
  const scheduler = createScheduler(config, system.controller.storage, system.clock, silent, undefined);
  const healthy = await createRap(system, repo, ["action2"]);
  expect(await scheduler.tick()).toEqual({ jobs: 2, changed: 1, failed: 1 });
  expect((await system.jobs(healthy)).action2.status).toBe("running");
  expect(await scheduler.tick()).toMatchObject({ failed: 1 });
  expect((await system.jobs(orphan)).action1.status_code).toBe("created");
  await scheduler.tick();
  expect((await system.jobs(orphan)).action1).toMatchObject({
    status: "failed",
    status_code: "internal_error",
    status_message: expect.stringMatching(/^Internal error: this usually means a platform issue/),
  });
  expect(await scheduler.tick()).toEqual({ jobs: 1, changed: 0, failed: 0 });
});

test("a cancel arriving between the loop's read and its write wins: the loop's write is refused, then the job is cancelled", async () => {
  system = await startSystem();
  const rap = await createRap(system, await studyRepo(FX_ACT), ["action1"]);
  const { storage } = system.controller;
  let cancelled = false;
  // The cancel request lands after the pass has read the job, before its first write.
  const racing: Storage = Object.create(storage, {
    openTransaction: {
      value: async () => {
        if (!cancelled) {
          cancelled = true;
          expect((await system.post("/rap/cancel/", { rap_id: rap, actions: ["action1"] })).status).toBe(200);
        }
        return storage.openTransaction();
      },
    },
  });
  const config = loadConfig({ ...SYSTEM_ENV, WORKDIR: system.workdir });
  const scheduler = createScheduler(config, racing, system.clock, silent, undefined);
  expect(await scheduler.tick()).toEqual({ jobs: 1, changed: 0, failed: 0 });
  // The job was not started behind the cancel's back: no task, still pending, marked cancelled.
  expect(await system.agent().tasks()).toEqual([]);
  await scheduler.tick();
  expect((await system.jobs(rap)).action1).toMatchObject({
    status: "failed",
    status_code: "cancelled_by_user",
  });
  expect(await system.agent().tasks()).toEqual([]);
});

test("a pass killed with SIGKILL and run again loses nothing and starts no job twice", async () => {
  const actions = Object.fromEntries(
    Array.from({ length: 1500 }, (_, i) => [`a${i}`, { run: `python:v2 a${i}.py` }]),
  );
  system = await startSystem();
  const rap = await createRap(system, await studyRepo(project(actions)), ["run_all"]);
  const env = {
    ...(SYSTEM_ENV as Record<string, string>),
    WORKDIR: system.workdir,
    ...system.databaseEnv,
    TEST_MAX_WORKERS: "100000",
    LOGLEVEL: "silent",
    // The killed pass leaves its lease to expire: the second waits that long for it.
    SCHEDULER_LEASE_TTL: "1",
  };
  const { storage } = system.controller;
  const taskCount = async () =>
    (await storage.tasks.runJobTasksOf(Object.keys(actions).map((a) => deterministicJobId(rap, a)))).size;

  const child = spawn(process.execPath, [cliPath, "tick"], { env: { PATH: process.env.PATH ?? "", ...env } });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  // Kill it once it has started some jobs, well before it has started them all.
  for (let i = 0; i < 2000 && (await taskCount()) === 0; i++) await new Promise((r) => setTimeout(r, 5));
  child.kill("SIGKILL");
  await exited;
  const startedBeforeKill = await taskCount();
  expect(startedBeforeKill).toBeGreaterThan(0);
  expect(startedBeforeKill).toBeLessThan(1500);

  const consistent = async () => {
    const jobs = Object.values(await system.jobs(rap));
    const tasks = await storage.tasks.runJobTasksOf(jobs.map((j) => j.identifier));
    for (const job of jobs) {
      const own = tasks.get(job.identifier) ?? [];
      // A job is running exactly when it has its one task: never a task without the job started, nor twice.
      expect(own.map((t) => t.id)).toEqual(job.status === "running" ? [`${job.identifier}-001`] : []);
    }
    return jobs;
  };
  await consistent();
  const rerun = spawn(process.execPath, [cliPath, "tick", "--wait"], {
    env: { PATH: process.env.PATH ?? "", ...env },
  });
  expect(await new Promise((resolve) => rerun.on("exit", resolve))).toBe(0);
  const jobs = await consistent();
  expect(jobs.filter((j) => j.status === "running")).toHaveLength(1500);
});

/** A scheduler of its own (`holder` names it as another process would be), on the system's database. */
function schedulerAs(
  holder: string,
  storage: Storage,
  env: Record<string, string> = {},
  digests: ImageDigests = { resolve: async () => null },
) {
  return new Scheduler({
    storage,
    config: loadConfig({ ...SYSTEM_ENV, WORKDIR: system.workdir, ...env }),
    clock: system.clock,
    digests,
    log: silent,
    holder,
  });
}

test("two schedulers never exceed MAX_WORKERS: one that lost the lease mid-pass writes nothing more, and the holder's rival is refused", async () => {
  system = await startSystem({ TEST_MAX_WORKERS: "2" });
  const actions = Object.fromEntries(["a0", "a1", "a2", "a3"].map((a) => [a, { run: `python:v2 ${a}.py` }]));
  const rap = await createRap(system, await studyRepo(project(actions)), ["a0", "a1", "a2", "a3"]);
  const { storage } = system.controller;
  const env = { TEST_MAX_WORKERS: "2", SCHEDULER_LEASE_TTL: "10" };
  const running = async () =>
    Object.entries(await system.jobs(rap)).flatMap(([action, job]) =>
      job.status === "running" ? [action] : [],
    );
  await system.tick();
  await system.controller.scheduler.releaseLease();
  expect(await running()).toEqual(["a0", "a1"]);
  const a1Task = (await system.agent().tasks()).find((task) =>
    task.id.startsWith(deterministicJobId(rap, "a1")),
  );
  await system.agent().finish(a1Task!.id, finishedResults());

  // A reads its pass (a1 finished: one worker free), finishes a1 (now two free) and commits that before asking the
  // registry for a2's image, then stalls past its lease's time. B takes the lease over, sees one worker free and
  // starts a2, leaving a3 waiting (nothing written for it). A, resuming, would start a2 and a3 on its stale count.
  const other = schedulerAs("B", storage, env);
  let transactions = 0;
  const stalling: Storage = Object.create(storage, {
    openTransaction: {
      value: async () => {
        transactions += 1;
        if (transactions === 2) {
          system.clock.advance(10_000);
          await other.tick();
        }
        return storage.openTransaction();
      },
    },
  });
  const first = schedulerAs("A", stalling, env, { resolve: async () => null, known: () => false });
  const stopped = await first.tick().catch((error: unknown) => error);
  expect(await running()).toEqual(["a0", "a2"]);
  expect(stopped).toBeInstanceOf(LeaseLostError);

  // B holds the lease: A is refused, naming B, and changes nothing.
  await expect(first.tick()).rejects.toThrow(/^another scheduler holds the lease: B, until /);
  expect(await other.tick()).toMatchObject({ failed: 0 });
  expect(await running()).toEqual(["a0", "a2"]);
});

test("MAX_TASK_RETRIES counts a job's failed handlings across schedulers and restarts", async () => {
  system = await startSystem({ BACKENDS: "test,gone", GONE_CLIENT_TOKENS: "test_token" });
  const orphan = await createRap(system, await studyRepo(FX_ACT), ["action1"], { backend: "gone" });
  const env = { BACKENDS: "test", MAX_TASK_RETRIES: "3" };
  // Each pass by a new scheduler, as after a restart or from `rap tick`.
  for (const holder of ["first", "second"]) {
    const scheduler = schedulerAs(holder, system.controller.storage, env);
    expect(await scheduler.tick()).toMatchObject({ failed: 1 });
    await scheduler.releaseLease();
    expect((await system.jobs(orphan)).action1.status_code).toBe("created");
  }
  expect(await schedulerAs("third", system.controller.storage, env).tick()).toMatchObject({ failed: 1 });
  expect((await system.jobs(orphan)).action1).toMatchObject({
    status: "failed",
    status_code: "internal_error",
  });
});
