/**
 * `wake()` (issue 18): something changed (a create, a finished task), so the next pass should not wait out
 * JOB_LOOP_INTERVAL. Real time on a real database (SQLite, or PostgreSQL in the `postgres` project) with a loop
 * interval of an hour: a pass that follows a wake can only have been started by it.
 */
import pino from "pino";
import { afterEach, expect, test } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import type { Storage } from "../../src/db/storage.js";
import { systemClock } from "../../src/domain/clock.js";
import { Scheduler } from "../../src/scheduler/scheduler.js";
import { openTestDb } from "../support/db.js";

const ENV = { BACKENDS: "test", JOB_LOOP_INTERVAL: "3600" };

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A looping scheduler on `storage` and the number of passes it has finished. */
function looping(storage: Storage): {
  scheduler: Scheduler;
  passes(): number;
  untilPasses(n: number): Promise<void>;
} {
  let finished = 0;
  const waiters: Array<{ n: number; resolve(): void }> = [];
  const scheduler = new Scheduler({
    storage,
    config: loadConfig({ ...ENV, WORKDIR: "/nonexistent-workdir" }),
    clock: systemClock,
    digests: { resolve: async () => null },
    log: pino({ level: "silent" }),
    metrics: {
      passFinished: () => {
        finished += 1;
        for (const waiter of waiters.filter((w) => w.n <= finished)) waiter.resolve();
      },
      passFailed: () => {},
    },
  });
  scheduler.start();
  cleanups.push(() => scheduler.stop());
  return {
    scheduler,
    passes: () => finished,
    // No deadline of its own: the test's timeout (far below the hour's interval) is the bound.
    untilPasses: (n) =>
      finished >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve })),
  };
}

async function storage(): Promise<Storage> {
  const database = await openTestDb();
  cleanups.push(() => database.close());
  return database.storageOn(database.db);
}

test("a wake between passes starts the next pass at once, not after JOB_LOOP_INTERVAL", async () => {
  const loop = looping(await storage());
  await loop.untilPasses(1);
  loop.scheduler.wake();
  await loop.untilPasses(2);
  loop.scheduler.wake();
  await loop.untilPasses(3);
  expect(loop.passes()).toBe(3);
});

test("a wake during a pass is followed by one more pass as soon as it ends", async () => {
  const db = await storage();
  let reached: () => void = () => {};
  const inFirstPass = new Promise<void>((resolve) => (reached = resolve));
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  let reads = 0;
  // The first pass stops after reading the jobs until the test has woken the scheduler.
  const failures = Object.create(db.failures, {
    all: {
      value: async () => {
        reads += 1;
        if (reads === 1) {
          reached();
          await gate;
        }
        return db.failures.all();
      },
    },
  });
  const loop = looping(Object.create(db, { failures: { value: failures } }) as Storage);
  await inFirstPass;
  loop.scheduler.wake();
  release();
  await loop.untilPasses(2);
  expect(loop.passes()).toBe(2);
});
