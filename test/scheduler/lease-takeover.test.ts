/**
 * The scheduler loop keeps its lease, and a standby takes a dead holder's, whatever JOB_LOOP_INTERVAL is (issue 15
 * build 2): the wait between passes wakes every third of SCHEDULER_LEASE_TTL. Real time on a real database (SQLite,
 * or PostgreSQL in the `postgres` project): the lease's TTL is 0.3 s and the loop interval 60 s, so anything waiting
 * for the next pass would take a minute.
 * On PostgreSQL (skipped, naming RAP_TEST_POSTGRES_URL, without a server): a standby cannot take the lease while a
 * write transaction of the holder is open and busy, even one that outlasts the lease; one left idle longer than the
 * lease's time (a holder cut off) is ended by the server, and the standby takes over.
 */
import pino from "pino";
import { afterEach, describe, expect, test } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import { openStorage } from "../../src/db/open.js";
import type { Storage } from "../../src/db/storage.js";
import { systemClock } from "../../src/domain/clock.js";
import { Scheduler } from "../../src/scheduler/scheduler.js";
import { openTestDb } from "../support/db.js";
import { createTestPostgres, postgresRequirement } from "../support/postgres.js";
import { requires } from "../support/requirements.js";

const TTL_MS = 300;
const ENV = { BACKENDS: "test", JOB_LOOP_INTERVAL: "60", SCHEDULER_LEASE_TTL: String(TTL_MS / 1000) };

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function storage(): Promise<Storage> {
  const database = await openTestDb();
  cleanups.push(() => database.close());
  return database.storageOn(database.db);
}

function looping(holder: string, on: Storage): Scheduler {
  const scheduler = new Scheduler({
    storage: on,
    config: loadConfig({ ...ENV, WORKDIR: "/nonexistent-workdir" }),
    clock: systemClock,
    digests: { resolve: async () => null },
    log: pino({ level: "silent" }),
    holder,
  });
  scheduler.start();
  cleanups.push(() => scheduler.stop());
  return scheduler;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Who holds the lease now (an expired lease is nobody's), checked every 50 ms for up to `ms`, until `holder`. */
async function holderWithin(on: Storage, ms: number, holder?: string): Promise<string | undefined> {
  let now: string | undefined;
  for (let waited = 0; waited <= ms; waited += 50) {
    const lease = await on.lease.current();
    now = lease && lease.expiresAtMs > Date.now() ? lease.holder : undefined;
    if (holder === undefined || now === holder) return now;
    await pause(50);
  }
  return now;
}

test("a holder keeps its lease between passes that are further apart than the lease's time", async () => {
  const db = await storage();
  looping("A", db);
  expect(await holderWithin(db, 2000, "A")).toBe("A");
  // Ten times the TTL, well within the 60 s until the next pass: the lease never lapsed, so no standby could take it.
  for (let i = 0; i < 10; i++) {
    await pause(TTL_MS);
    expect(await holderWithin(db, 0)).toBe("A");
  }
});

test("a standby takes over a dead holder's lease once it expires, not at its next pass a minute later", async () => {
  const db = await storage();
  // A holder that died without releasing: its lease runs out in TTL_MS.
  await db.lease.acquire("dead", Date.now(), TTL_MS);
  looping("B", db);
  expect(await holderWithin(db, 0)).toBe("dead");
  expect(await holderWithin(db, 5000, "B")).toBe("B");
});

describe.skipIf(!requires(postgresRequirement()))("PostgreSQL", () => {
  async function postgres(): Promise<Storage> {
    const server = await createTestPostgres();
    cleanups.push(() => server.drop());
    const db = await openStorage(loadConfig({ ...ENV, DATABASE_URL: server.url }).database, {
      migrate: true,
    });
    cleanups.push(() => db.close());
    return db;
  }

  test("the holder's open write transaction keeps a standby from taking the lease until it ends", async () => {
    const db = await postgres();
    await db.lease.acquire("A", Date.now(), TTL_MS);
    let standby: string | undefined;
    let asked: Promise<void> | undefined;
    await db.transaction(async (stores) => {
      expect(await stores.lease.renew("A", Date.now(), TTL_MS)).toBe(true);
      // B asks, by a clock past A's lease, while A's transaction is open: but for that, it would take it at once.
      asked = db.lease.acquire("B", Date.now() + 2 * TTL_MS, TTL_MS).then((lease) => {
        standby = lease.holder;
      });
      // Busy, not idle: A's transaction talks to the server while B waits.
      for (let i = 0; i < 12; i++) {
        await pause(TTL_MS / 6);
        await stores.flags.get("test", "paused");
      }
      expect(standby).toBeUndefined();
    });
    // A committed with its lease renewed; B, let through only then, finds it expired by its own time and takes it.
    await asked;
    expect(standby).toBe("B");
  });

  test("a holder's transaction left idle longer than the lease's time is ended by the server: nothing of it commits, the standby takes over", async () => {
    const db = await postgres();
    await db.lease.acquire("A", Date.now(), TTL_MS);
    let asked: Promise<{ holder: string }> | undefined;
    const cutOff = db.transaction(async (stores) => {
      expect(await stores.lease.renew("A", Date.now(), TTL_MS)).toBe(true);
      asked = db.lease.acquire("B", Date.now() + 2 * TTL_MS, TTL_MS);
      // A holder cut off from the server (test/e2e/lease-cut-off.test.ts): its next statement comes too late.
      await pause(3 * TTL_MS);
      await stores.flags.set("test", "paused", "true", 1);
    });
    await expect(cutOff).rejects.toThrow();
    expect((await asked)?.holder).toBe("B");
    expect(await db.flags.get("test", "paused")).toBeUndefined();
  });
});
