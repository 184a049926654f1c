/**
 * A scheduler whose connection to PostgreSQL is lost in the middle of a job's transaction (issue 15): the connection
 * is reset by a loopback TCP proxy the test cuts right after the transaction has renewed the lease, and the proxy
 * forwards again at once, as after a restarted proxy or a failover. The pass stops there without counting it against
 * the job (MAX_TASK_RETRIES), as for a full disk, and the next pass handles the job. Skips, naming
 * RAP_TEST_POSTGRES_URL, without a server.
 */
import pino from "pino";
import { afterEach, describe, expect, test } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import { openStorage } from "../../src/db/open.js";
import { type Storage, StorageUnavailableError, type Stores } from "../../src/db/storage.js";
import { systemClock } from "../../src/domain/clock.js";
import { StatusCode } from "../../src/domain/status.js";
import { Scheduler } from "../../src/scheduler/scheduler.js";
import { makeJob } from "../support/factories.js";
import { createTestPostgres, postgresRequirement } from "../support/postgres.js";
import { requires } from "../support/requirements.js";
import { SYSTEM_ENV } from "../support/system.js";
import { TcpProxy } from "../support/tcp-proxy.js";

const available = requires(postgresRequirement());

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

/** `storage`, with `hooks.onRenew` run (once) inside the next transaction, right after it renewed the lease. */
function cutAfterRenewal(storage: Storage) {
  const hooks: { onRenew?: () => void } = {};
  const wrapped = Object.create(storage) as Storage;
  wrapped.transaction = <T>(work: (stores: Stores) => Promise<T>): Promise<T> =>
    storage.transaction((stores) =>
      work({
        ...stores,
        lease: {
          ...stores.lease,
          renew: async (holder, nowMs, ttlMs) => {
            const renewed = await stores.lease.renew(holder, nowMs, ttlMs);
            const hook = hooks.onRenew;
            hooks.onRenew = undefined;
            hook?.();
            return renewed;
          },
        },
      }),
    );
  return { storage: wrapped, hooks };
}

describe.skipIf(!available)("a scheduler losing its PostgreSQL connection mid-pass", () => {
  test("the pass stops with StorageUnavailableError, the job is not blamed, the next pass handles it", async () => {
    const server = await createTestPostgres();
    cleanups.push(() => server.drop());
    const env = { ...(SYSTEM_ENV as Record<string, string>), WORKDIR: "/nonexistent-workdir" };
    const direct = await openStorage(loadConfig({ ...env, DATABASE_URL: server.url }).database, {
      migrate: true,
    });
    cleanups.push(() => direct.close());
    const target = new URL(server.url);
    const proxy = await TcpProxy.start(target.hostname, Number(target.port));
    cleanups.push(() => proxy.close());
    const proxied = new URL(server.url);
    proxied.port = String(proxy.port);
    const cut = cutAfterRenewal(
      await openStorage(loadConfig({ ...env, DATABASE_URL: proxied.toString() }).database),
    );
    cleanups.push(() => cut.storage.close());

    const logged: { msg: string }[] = [];
    const scheduler = new Scheduler({
      storage: cut.storage,
      config: loadConfig({ ...env, DATABASE_URL: proxied.toString() }),
      clock: systemClock,
      digests: { resolve: async () => null },
      log: pino({ level: "info" }, { write: (line: string) => void logged.push(JSON.parse(line)) }),
      holder: "A",
    });
    cleanups.push(() => scheduler.stop());
    const job = makeJob();
    await direct.jobs.insert([job]);

    // The connection of the transaction starting the job is reset; new connections are let through at once.
    cut.hooks.onRenew = () => {
      proxy.dropConnections();
      proxy.forward();
    };
    await expect(scheduler.tick()).rejects.toThrow(StorageUnavailableError);
    expect(await direct.failures.all()).toEqual(new Map());
    expect(logged.filter((line) => line.msg === "error handling job")).toEqual([]);
    expect((await direct.jobs.get(job.id))?.statusCode).toBe(StatusCode.Created);

    const report = await scheduler.tick();
    expect(report.failed).toBe(0);
    expect((await direct.jobs.get(job.id))?.statusCode).not.toBe(StatusCode.Created);
    expect(await direct.failures.all()).toEqual(new Map());
  });
});
