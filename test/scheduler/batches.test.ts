/**
 * A pass writes its jobs' changes in shared transactions, each job's a savepoint (src/scheduler/job-writes.ts):
 * one job's write that fails or meets another writer's change rolls back alone, a batch that cannot commit leaves
 * nothing behind and no observer told, and no transaction is held open while a registry is asked.
 */
import pino from "pino";
import { afterEach, expect, test } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import type { OpenTransaction, Storage, Stores } from "../../src/db/storage.js";
import { deterministicJobId } from "../../src/domain/ids.js";
import type { JobObserver } from "../../src/domain/job-observer.js";
import { type ImageDigests, Scheduler } from "../../src/scheduler/scheduler.js";
import { SYSTEM_ENV, type System, startSystem } from "../support/system.js";
import { createRap, project, studyRepo } from "./support.js";

let system: System;
afterEach(async () => system?.close());

const ACTIONS = ["a0", "a1", "a2", "a3", "a4"];

async function fiveJobs(): Promise<string> {
  system = await startSystem();
  const actions = Object.fromEntries(ACTIONS.map((a) => [a, { run: `python:v2 ${a}.py` }]));
  return createRap(system, await studyRepo(project(actions)), ACTIONS);
}

interface Instruments {
  /** Transactions opened, and open now. */
  opened: number;
  open: number;
  /** Replaces the stores a step sees. */
  stores?: (stores: Stores) => Stores;
  /** Replaces a commit. */
  commit?: (transaction: OpenTransaction) => Promise<void>;
  /** Told of each transaction opened, step run and commit, in order. */
  events?: string[];
  /** Runs after each step. */
  afterStep?: () => void;
}

/** The controller's storage, its open transactions counted and, as `instruments` says, altered. */
function instrumented(instruments: Instruments): Storage {
  const storage = system.controller.storage;
  return Object.create(storage, {
    transaction: {
      value: () => {
        throw new Error("a pass's writes go through openTransaction");
      },
    },
    openTransaction: {
      value: async (): Promise<OpenTransaction> => {
        const transaction = await storage.openTransaction();
        instruments.opened += 1;
        instruments.open += 1;
        instruments.events?.push("open");
        const stores = instruments.stores?.(transaction.stores) ?? transaction.stores;
        const ended = <T>(promise: Promise<T>) => promise.finally(() => (instruments.open -= 1));
        return {
          stores,
          maxSteps: transaction.maxSteps,
          step: async (work) => {
            const result = await transaction.step(() => work(stores));
            instruments.events?.push("step");
            instruments.afterStep?.();
            return result;
          },
          commit: () => {
            instruments.events?.push("commit");
            return ended(instruments.commit?.(transaction) ?? transaction.commit());
          },
          rollback: () => ended(transaction.rollback()),
        };
      },
    },
  });
}

function schedulerOn(storage: Storage, options: { digests?: ImageDigests; observers?: JobObserver[] } = {}) {
  return new Scheduler({
    storage,
    config: loadConfig({ ...SYSTEM_ENV, WORKDIR: system.workdir, TEST_MAX_WORKERS: "10" }),
    clock: system.clock,
    digests: options.digests ?? { resolve: async () => null },
    log: pino({ level: "silent" }),
    observers: options.observers ?? [],
  });
}

const runJobTasks = async (rap: string) =>
  (await system.controller.storage.tasks.runJobTasksOf(ACTIONS.map((a) => deterministicJobId(rap, a)))).size;

test("a pass starts its jobs in shared transactions, not one each", async () => {
  const rap = await fiveJobs();
  const instruments: Instruments = { opened: 0, open: 0 };
  expect(await schedulerOn(instrumented(instruments)).tick()).toMatchObject({ changed: 5, failed: 0 });
  expect(await runJobTasks(rap)).toBe(5);
  // One: the system's clock stands still, so the batch never comes of age (BATCH_MAX_MS), and five steps are fewer
  // than either database's maxSteps.
  expect(instruments.opened).toBe(1);
  expect(instruments.open).toBe(0);
});

test("a job another writer changed meanwhile leaves no task behind, while the others of its batch start", async () => {
  const rap = await fiveJobs();
  const victim = deterministicJobId(rap, "a2");
  // Another writer (a cancel) got to a2 first: its guarded status write is refused, after its task was inserted.
  const instruments: Instruments = {
    opened: 0,
    open: 0,
    stores: (stores) => {
      const applyStatus: Stores["jobs"]["applyStatus"] = (id, expected, status) =>
        id === victim ? Promise.resolve(false) : stores.jobs.applyStatus(id, expected, status);
      return { ...stores, jobs: Object.create(stores.jobs, { applyStatus: { value: applyStatus } }) };
    },
  };
  expect(await schedulerOn(instrumented(instruments)).tick()).toMatchObject({ changed: 4, failed: 0 });
  const jobs = await system.jobs(rap);
  expect(ACTIONS.filter((a) => jobs[a].status === "running")).toEqual(["a0", "a1", "a3", "a4"]);
  expect(jobs.a2.status_code).toBe("created");
  const tasks = await system.controller.storage.tasks.runJobTasksOf([victim]);
  expect(tasks.get(victim) ?? []).toEqual([]);
});

test("a batch that cannot commit leaves nothing, tells no observer, and the next pass starts every job", async () => {
  const rap = await fiveJobs();
  const heard: string[] = [];
  const observers = [{ statusChanged: (job: { id: string }) => heard.push(job.id) }];
  const instruments: Instruments = {
    opened: 0,
    open: 0,
    commit: async (transaction) => {
      await transaction.rollback();
      throw new Error("the commit failed");
    },
  };
  const scheduler = schedulerOn(instrumented(instruments), { observers });
  await expect(scheduler.tick()).rejects.toThrow("the commit failed");
  expect(await runJobTasks(rap)).toBe(0);
  expect(heard).toEqual([]);
  // The same scheduler, whose view of its jobs had them started, reads them again and starts them.
  delete instruments.commit;
  expect(await scheduler.tick()).toMatchObject({ changed: 5, failed: 0 });
  expect(await runJobTasks(rap)).toBe(5);
  expect(heard).toHaveLength(5);
});

test("no transaction is held open while a registry is asked for an image's digest", async () => {
  const rap = await fiveJobs();
  const instruments: Instruments = { opened: 0, open: 0 };
  const openWhileAsked: number[] = [];
  // The first image is known; each later one must be asked for (as a digest past its TTL).
  let asked = 0;
  const digests: ImageDigests = {
    known: () => asked === 0,
    resolve: async () => {
      asked += 1;
      openWhileAsked.push(instruments.open);
      return null;
    },
  };
  expect(await schedulerOn(instrumented(instruments), { digests }).tick()).toMatchObject({ changed: 5 });
  expect(await runJobTasks(rap)).toBe(5);
  expect(openWhileAsked).toEqual([0, 0, 0, 0, 0]);
});

test("a batch whose time is up commits after the job that used it, not when the next job writes", async () => {
  const rap = await fiveJobs();
  const events: string[] = [];
  // The first job's start takes the batch's whole time (BATCH_MAX_MS is 20 ms).
  let first = true;
  const instruments: Instruments = {
    opened: 0,
    open: 0,
    events,
    afterStep: () => {
      if (first) system.clock.advance(25);
      first = false;
    },
  };
  const digests: ImageDigests = {
    resolve: async () => {
      events.push("resolve");
      return null;
    },
  };
  expect(await schedulerOn(instrumented(instruments), { digests }).tick()).toMatchObject({ changed: 5 });
  expect(await runJobTasks(rap)).toBe(5);
  expect(events.slice(0, 5)).toEqual(["resolve", "open", "step", "commit", "resolve"]);
  // The other four share the next batch.
  expect(events.slice(5)).toEqual([
    "open",
    "step",
    "resolve",
    "step",
    "resolve",
    "step",
    "resolve",
    "step",
    "commit",
  ]);
});

test("a batch that fails to commit mid-pass ends the pass at once, and the next starts every job once", async () => {
  const rap = await fiveJobs();
  // Every image but the first must be asked for, so the batch commits before each later job's start.
  let asked = 0;
  const digests: ImageDigests = {
    known: () => asked === 0,
    resolve: async () => {
      asked += 1;
      return null;
    },
  };
  let failures = 1;
  const instruments: Instruments = {
    opened: 0,
    open: 0,
    commit: async (transaction) => {
      if (failures-- <= 0) return transaction.commit();
      await transaction.rollback();
      throw new Error("the commit failed");
    },
  };
  const scheduler = schedulerOn(instrumented(instruments), { digests });
  // The first job's start was in the batch that failed, committed as the second job's handling began: the pass
  // stops there, deciding nothing more from a view in which the first job had started.
  await expect(scheduler.tick()).rejects.toThrow("the commit failed");
  expect(await runJobTasks(rap)).toBe(0);
  expect(asked).toBe(1);
  // The same scheduler reads every job again and starts each once.
  expect(await scheduler.tick()).toMatchObject({ changed: 5, failed: 0 });
  const tasks = await system.controller.storage.tasks.runJobTasksOf(
    ACTIONS.map((a) => deterministicJobId(rap, a)),
  );
  expect([...tasks.values()].map((own) => own.map((task) => task.id.slice(-4)))).toEqual(
    ACTIONS.map(() => ["-001"]),
  );
});
