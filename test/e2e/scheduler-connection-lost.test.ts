/**
 * A scheduler whose connection to PostgreSQL is lost in the middle of a job's transaction (issue 15): the connection
 * is reset by a loopback TCP proxy the test cuts right after the transaction has renewed the lease, and the proxy
 * forwards again at once, as after a restarted proxy or a failover. The pass stops there without counting it against
 * the job (MAX_TASK_RETRIES), as for a full disk, and the next pass handles the job. Skips, naming
 * RAP_TEST_POSTGRES_URL, without a server.
 */
import pino from "pino";
import { afterEach, describe, expect, test } from "vitest";
import { openStorage } from "../../src/db/open.js";
import { StorageUnavailableError } from "../../src/db/storage.js";
import { systemClock } from "../../src/domain/clock.js";
import { StatusCode } from "../../src/domain/status.js";
import { Scheduler } from "../../src/scheduler/scheduler.js";
import { proxiedPostgres, watchRenewals } from "../support/cut-postgres.js";
import { makeJob } from "../support/factories.js";
import { postgresRequirement } from "../support/postgres.js";
import { requires } from "../support/requirements.js";
import { SYSTEM_ENV } from "../support/system.js";

const available = requires(postgresRequirement());

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

describe.skipIf(!available)("a scheduler losing its PostgreSQL connection mid-pass", () => {
  test("the pass stops with StorageUnavailableError, the job is not blamed, the next pass handles it", async () => {
    const env = { ...(SYSTEM_ENV as Record<string, string>), WORKDIR: "/nonexistent-workdir" };
    const { direct, proxy, proxiedConfig } = await proxiedPostgres(env, cleanups);
    const cut = watchRenewals(await openStorage(proxiedConfig.database));
    cleanups.push(() => cut.storage.close());

    const logged: { msg: string }[] = [];
    const scheduler = new Scheduler({
      storage: cut.storage,
      config: proxiedConfig,
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
