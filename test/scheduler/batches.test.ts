/**
 * A pass writes its jobs' changes in shared transactions, each job's a savepoint, its starts all at once before the
 * commit (src/scheduler/job-writes.ts): one job's write that fails or meets another writer's change rolls back
 * alone, a batch that cannot commit leaves nothing behind and no observer told, and no transaction is held open
 * while a registry is asked.
 */
import pino from "pino";
import { afterEach, expect, test } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import type { OpenTransaction, Storage, Stores } from "../../src/db/storage.js";
import { deterministicJobId } from "../../src/domain/ids.js";
import type { JobObserver } from "../../src/domain/job-observer.js";
import { cancelRequest } from "../../src/domain/transition.js";
import { type ImageDigests, Scheduler } from "../../src/scheduler/scheduler.js";
import { makeJob, rapId } from "../support/factories.js";
import { testDatabaseIsPostgres } from "../support/postgres.js";
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

/** The stores a step sees, with some of the jobs' and tasks' methods replaced. */
function replaced(
  stores: Stores,
  methods: { jobs?: Partial<Stores["jobs"]>; tasks?: Partial<Stores["tasks"]> },
): Stores {
  const own = (replacements: object) =>
    Object.fromEntries(Object.entries(replacements).map(([name, value]) => [name, { value }]));
  return {
    ...stores,
    jobs: Object.create(stores.jobs, own(methods.jobs ?? {})),
    tasks: Object.create(stores.tasks, own(methods.tasks ?? {})),
  };
}

test("a job another writer changed meanwhile leaves no task behind, while the others of its batch start", async () => {
  const rap = await fiveJobs();
  const victim = deterministicJobId(rap, "a2");
  // Another writer (job-server's cancel) gets to a2 after the pass read it and before its start is written.
  const instruments: Instruments = {
    opened: 0,
    open: 0,
    stores: (stores) =>
      replaced(stores, {
        jobs: {
          applyStatuses: async (writes) => {
            await stores.jobs.markCancelled(rap, ["a2"], ["test"], cancelRequest(1));
            return stores.jobs.applyStatuses(writes);
          },
        },
      }),
  };
  const heard: string[] = [];
  const observers = [{ statusChanged: (job: { id: string }) => heard.push(job.id) }];
  const scheduler = schedulerOn(instrumented(instruments), { observers });
  expect(await scheduler.tick()).toMatchObject({ changed: 4, failed: 0 });
  // Observers hear of the four starts made, in the order the pass decided them.
  expect(heard).toEqual(["a0", "a1", "a3", "a4"].map((a) => deterministicJobId(rap, a)));
  const jobs = await system.jobs(rap);
  expect(ACTIONS.filter((a) => jobs[a].status === "running")).toEqual(["a0", "a1", "a3", "a4"]);
  expect(jobs.a2.status_code).toBe("created");
  const tasks = await system.controller.storage.tasks.runJobTasksOf([victim]);
  expect(tasks.get(victim) ?? []).toEqual([]);
  // The pass had seen a2 started: its view taken back, the same scheduler cancels a2 (not a running job).
  delete instruments.stores;
  expect(await scheduler.tick()).toMatchObject({ changed: 1, failed: 0 });
  expect((await system.jobs(rap)).a2.status_code).toBe("cancelled_by_user");
  expect((await system.controller.storage.tasks.runJobTasksOf([victim])).get(victim) ?? []).toEqual([]);
});

test("starts that cannot be written together are written one by one: one that fails is counted, the others start", async () => {
  const rap = await fiveJobs();
  const victim = deterministicJobId(rap, "a2");
  const instruments: Instruments = {
    opened: 0,
    open: 0,
    stores: (stores) =>
      replaced(stores, {
        jobs: { applyStatuses: () => Promise.reject(new Error("the statement failed")) },
        tasks: {
          insert: (task) =>
            task.jobId === victim ? Promise.reject(new Error("no room for a2")) : stores.tasks.insert(task),
        },
      }),
  };
  const scheduler = schedulerOn(instrumented(instruments));
  expect(await scheduler.tick()).toMatchObject({ changed: 4, failed: 1 });
  const running = await system.jobs(rap);
  expect(ACTIONS.filter((a) => running[a].status === "running")).toEqual(["a0", "a1", "a3", "a4"]);
  expect((await system.controller.storage.failures.all()).get(victim)).toBe(1);
  // Failing again, its count goes on (its handling, which defers the start, does not clear it).
  expect(await scheduler.tick()).toMatchObject({ changed: 0, failed: 1 });
  expect((await system.controller.storage.failures.all()).get(victim)).toBe(2);
  // Once it starts, the count is cleared with the start.
  delete instruments.stores;
  expect(await scheduler.tick()).toMatchObject({ changed: 1, failed: 0 });
  expect((await system.jobs(rap)).a2.status).toBe("running");
  expect((await system.controller.storage.failures.all()).has(victim)).toBe(false);
  // With its first task: the failed starts' tasks were taken back from the pass's view.
  const tasks = await system.controller.storage.tasks.runJobTasksOf([victim]);
  expect(tasks.get(victim)?.map((task) => task.id.slice(-4))).toEqual(["-001"]);
});

test("jobs left waiting are written together at the commit; one another writer changed meanwhile keeps its own", async () => {
  system = await startSystem();
  // a1–a4 wait on a0, which starts: five status writes, left for the batch's commit.
  const actions = Object.fromEntries(
    ACTIONS.map((a, n) => [
      a,
      n === 0 ? { run: "python:v2 a0.py" } : { run: `python:v2 ${a}.py`, needs: ["a0"] },
    ]),
  );
  const rap = await createRap(system, await studyRepo(project(actions)), ACTIONS);
  const written: number[] = [];
  const instruments: Instruments = {
    opened: 0,
    open: 0,
    stores: (stores) =>
      replaced(stores, {
        jobs: {
          applyStatuses: async (writes) => {
            written.push(writes.length);
            await stores.jobs.markCancelled(rap, ["a3"], ["test"], cancelRequest(1));
            return stores.jobs.applyStatuses(writes);
          },
        },
      }),
  };
  const scheduler = schedulerOn(instrumented(instruments));
  expect(await scheduler.tick()).toMatchObject({ changed: 4, failed: 0 });
  expect(written).toEqual([5]);
  const jobs = await system.jobs(rap);
  expect(ACTIONS.map((a) => jobs[a].status_code)).toEqual([
    "initiated",
    "waiting_on_dependencies",
    "waiting_on_dependencies",
    "created",
    "waiting_on_dependencies",
  ]);
  delete instruments.stores;
  expect(await scheduler.tick()).toMatchObject({ changed: 1, failed: 0 });
  expect((await system.jobs(rap)).a3.status_code).toBe("cancelled_by_user");
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
  // The first batch's renewal of the lease takes its whole time (BATCH_MAX_MS is 20 ms).
  let first = true;
  const instruments: Instruments = {
    opened: 0,
    open: 0,
    events,
    stores: (stores) => ({
      ...stores,
      lease: Object.create(stores.lease, {
        renew: {
          value: (holder: string, nowMs: number, ttlMs: number) => {
            if (first) system.clock.advance(25);
            first = false;
            return stores.lease.renew(holder, nowMs, ttlMs);
          },
        },
      }),
    }),
  };
  const digests: ImageDigests = {
    resolve: async () => {
      events.push("resolve");
      return null;
    },
  };
  expect(await schedulerOn(instrumented(instruments), { digests }).tick()).toMatchObject({ changed: 5 });
  expect(await runJobTasks(rap)).toBe(5);
  // A batch's starts are written in one step before its commit.
  expect(events.slice(0, 5)).toEqual(["resolve", "open", "step", "commit", "resolve"]);
  // The other four share the next batch.
  expect(events.slice(5)).toEqual(["open", "resolve", "resolve", "resolve", "step", "commit"]);
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

test("a long pass lets the event loop turn, and a scheduler stopped meanwhile ends it early", async () => {
  system = await startSystem();
  const rap = rapId();
  // Enough for a pass of well over 50 ms; fewer on PostgreSQL, whose round trips make each job slower and where one
  // long insert would hold back every other test's change feed on the shared server.
  const count = testDatabaseIsPostgres() ? 500 : 5000;
  const jobs = Array.from({ length: count }, (_, n) => makeJob({ rapId: rap, action: `a${n}` }));
  await system.controller.storage.jobs.insert(jobs);
  const scheduler = schedulerOn(system.controller.storage);
  scheduler.start();
  // A timer: it runs only when the pass lets the event loop turn.
  const stopped = new Promise<void>((done) => setTimeout(() => void scheduler.stop().then(done), 1));
  await stopped;
  const codes = (await system.controller.storage.jobs.forRaps([rap], ["test"])).map((job) => job.statusCode);
  // Stopped part-way: the jobs not handled yet are as created (those handled started, up to the ten workers).
  expect(codes.filter((code) => code === "initiated").length).toBeLessThanOrEqual(10);
  expect(codes.filter((code) => code === "created").length).toBeGreaterThan(0);
});
