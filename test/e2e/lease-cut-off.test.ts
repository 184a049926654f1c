/**
 * A lease holder cut off from PostgreSQL (issue 15 build 2): two schedulers on one database, as two `rap controller`
 * replicas run them, the holder (A) reaching the server only through a loopback TCP proxy the test cuts while A is
 * inside a pass's transaction, its lease just renewed. Either the proxy holds every byte (a partition) or it resets
 * the connections (a restarted proxy). Then: A commits nothing after its lease expires, the standby (B) takes over
 * within the lease's time plus its retry interval, no job gets two RUNJOB tasks, and once the proxy forwards again
 * A stands by, and takes the lease back when B stops. Real time; skips, naming RAP_TEST_POSTGRES_URL, without a
 * server.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { sql } from "kysely";
import pino from "pino";
import { afterEach, describe, expect, test } from "vitest";
import { openStorage } from "../../src/db/open.js";
import type { PostgresStorage } from "../../src/db/postgres-storage.js";
import type { Storage } from "../../src/db/storage.js";
import { systemClock } from "../../src/domain/clock.js";
import { Scheduler } from "../../src/scheduler/scheduler.js";
import { proxiedPostgres, watchRenewals } from "../support/cut-postgres.js";
import { makeJob } from "../support/factories.js";
import { postgresRequirement } from "../support/postgres.js";
import { requires } from "../support/requirements.js";
import { SYSTEM_ENV } from "../support/system.js";

const available = requires(postgresRequirement());

const TTL_MS = 2000;
/** How often a standby tries to take the lease (src/scheduler/scheduler.ts leaseWakeMs). */
const RETRY_MS = TTL_MS / 3;
/** Room for a loaded machine: a missed wake, a slow query. */
const SLACK_MS = 2000;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(25);
  }
}

describe.skipIf(!available)("a lease holder cut off from PostgreSQL", () => {
  test.each(["stopForwarding", "dropConnections"] as const)(
    "proxy %s inside the holder's transaction: it stops, the standby takes over, it recovers",
    async (cut) => {
      const env = {
        ...(SYSTEM_ENV as Record<string, string>),
        WORKDIR: "/nonexistent-workdir",
        JOB_LOOP_INTERVAL: "0.1",
        SCHEDULER_LEASE_TTL: String(TTL_MS / 1000),
        TEST_MAX_WORKERS: "1000",
      };
      const { direct, proxy, directConfig, proxiedConfig } = await proxiedPostgres(env, cleanups);

      const logA: { msg: string; holder?: string }[] = [];
      const a = watchRenewals(await openStorage(proxiedConfig.database));
      cleanups.push(() => a.storage.close());
      const scheduler = (name: string, storage: Storage, log = pino({ level: "silent" })) => {
        const made = new Scheduler({
          storage,
          config: directConfig,
          clock: systemClock,
          digests: { resolve: async () => null },
          log,
          holder: name,
        });
        cleanups.push(() => made.stop());
        return made;
      };
      const schedulerA = scheduler(
        "A",
        a.storage,
        pino({ level: "info" }, { write: (line: string) => void logA.push(JSON.parse(line)) }),
      );
      const schedulerB = scheduler("B", direct);
      // Stopping A must not wait on a connection the proxy holds (when the test fails half-way): reset them first.
      cleanups.push(async () => proxy.dropConnections());

      const holder = async () => {
        const lease = await direct.lease.current();
        return lease && lease.expiresAtMs > Date.now() ? lease.holder : undefined;
      };
      const fed: string[] = [];
      const feed = async (count: number) => {
        const jobs = Array.from({ length: count }, () => makeJob());
        await direct.jobs.insert(jobs);
        fed.push(...jobs.map((job) => job.id));
      };
      const runJobTasks = async () => {
        const { rows } = await sql<{ job_id: string; tasks: number }>`
          select job_id, count(*)::int as tasks from tasks where type = 'runjob' group by job_id`.execute(
          (direct as PostgresStorage).db,
        );
        return new Map(rows.map((row) => [row.job_id, row.tasks]));
      };
      const allStarted = async () => {
        const tasks = await runJobTasks();
        return fed.every((id) => tasks.has(id));
      };

      schedulerA.start();
      await until("A holds the lease", async () => (await holder()) === "A");
      schedulerB.start();
      await feed(5);
      await until("A starts the first jobs", allStarted);

      // The next transaction of A's that renews the lease is cut right after: its writes never reach the server.
      let cutAtMs = 0;
      a.hooks.onRenew = () => {
        cutAtMs = Date.now();
        proxy[cut]();
      };
      await feed(5);
      await until("A is cut off inside a transaction", async () => cutAtMs > 0);
      await until("B takes the lease", async () => (await holder()) === "B");
      const takeoverMs = Date.now() - cutAtMs;
      await feed(5);
      await until("B starts every job", allStarted);

      proxy.forward();
      await until("A, reconnected, stands by", async () =>
        logA.some((line) => line.holder === "B" && line.msg.includes("standing by")),
      );
      await schedulerB.stop();
      await until("A takes the lease back once B has stopped", async () => (await holder()) === "A");
      await feed(5);
      await until("A starts jobs again", allStarted);

      expect(takeoverMs).toBeLessThanOrEqual(TTL_MS + RETRY_MS + SLACK_MS);
      // Nothing A committed came after its lease had run out.
      const late = a.commits.filter((commit) => commit.committedAtMs > commit.renewedAtMs + TTL_MS);
      expect(late).toEqual([]);
      const tasks = await runJobTasks();
      expect([...tasks.values()].filter((count) => count !== 1)).toEqual([]);
      expect(fed.filter((id) => !tasks.has(id))).toEqual([]);
    },
    90_000,
  );
});
