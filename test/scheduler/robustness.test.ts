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
import { FX_ACT } from "../jobs/fixtures.js";
import { cliPath } from "../support/cli.js";
import { SYSTEM_ENV, type System, startSystem } from "../support/system.js";
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
    transaction: {
      value: async (work: Parameters<Storage["transaction"]>[0]) => {
        if (!cancelled) {
          cancelled = true;
          expect((await system.post("/rap/cancel/", { rap_id: rap, actions: ["action1"] })).status).toBe(200);
        }
        return storage.transaction(work);
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
    TEST_MAX_WORKERS: "100000",
    LOGLEVEL: "silent",
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
  const rerun = spawn(process.execPath, [cliPath, "tick"], { env: { PATH: process.env.PATH ?? "", ...env } });
  expect(await new Promise((resolve) => rerun.on("exit", resolve))).toBe(0);
  const jobs = await consistent();
  expect(jobs.filter((j) => j.status === "running")).toHaveLength(1500);
});
