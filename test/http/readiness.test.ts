/**
 * `GET /readyz` (issue 15 build 3): 200 with whether this replica's scheduler holds the lease while the database
 * answers (on the run's database: SQLite, or PostgreSQL in the `postgres` project), 503 with a reason naming no host
 * when a PostgreSQL server does not (skipped, naming RAP_TEST_POSTGRES_URL, without one). The unanswering database is
 * a real loopback listener that never speaks.
 */
import { createServer, type Socket } from "node:net";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import { openStorage } from "../../src/db/open.js";
import type { LeaseStore, Storage } from "../../src/db/storage.js";
import { ManualClock } from "../../src/domain/clock.js";
import { freePort } from "../support/ports.js";
import { postgresRequirement } from "../support/postgres.js";
import { requires } from "../support/requirements.js";
import { appOnStorage, CFG_A, startApi, type TestApi } from "./support.js";

const HOLDER = "pid 1 on replica-a";
const clock = new ManualClock(1_700_000_000_000);

async function readyz(app: FastifyInstance) {
  const answer = await app.inject({ method: "GET", url: "/readyz" });
  return { status: answer.statusCode, body: answer.body };
}

/** The lease as each replica's scheduler holds it, and what `/readyz` then says of this replica. */
async function leaseAnswers(app: FastifyInstance, lease: LeaseStore): Promise<unknown[]> {
  const seen = [await readyz(app)];
  await lease.acquire(HOLDER, clock.nowMs(), 3000);
  seen.push(await readyz(app));
  clock.advance(3000);
  seen.push(await readyz(app));
  await lease.acquire("pid 2 on replica-b", clock.nowMs(), 3000);
  seen.push(await readyz(app));
  await lease.release("pid 2 on replica-b");
  return seen;
}

const ours = (holds: boolean) => ({
  status: 200,
  body: `{"database":"ok","scheduler_lease":${holds}}`,
});
/** Free, ours, ours but expired, another's. */
const LEASE_ANSWERS = [ours(false), ours(true), ours(false), ours(false)];

describe("/readyz", () => {
  let api: TestApi;
  let lease: LeaseStore;
  beforeAll(async () => {
    api = await startApi(CFG_A, { clock, schedulerHolder: HOLDER });
    lease = api.database.storageOn(api.db).lease;
  });
  afterAll(() => api?.close());

  test("200 while the database answers; scheduler_lease is true only while this replica's lease runs", async () => {
    expect(await leaseAnswers(api.app, lease)).toEqual(LEASE_ANSWERS);
  });

  test("an app that runs no scheduler never holds the lease", async () => {
    const other = await startApi(CFG_A, { clock });
    try {
      await other.database.storageOn(other.db).lease.acquire(HOLDER, clock.nowMs(), 3000);
      expect(await readyz(other.app)).toEqual(ours(false));
    } finally {
      await other.close();
    }
  });

  test("/ stays the reference's health check", async () => {
    const answer = await api.app.inject({ method: "GET", url: "/" });
    expect([answer.statusCode, answer.body]).toEqual([200, '{"method":"GET"}']);
  });
});

const available = requires(postgresRequirement());

describe.skipIf(!available)("/readyz on a PostgreSQL server that does not answer", () => {
  const config = loadConfig(CFG_A);

  test("a server that refuses connections: 503 with the error's code, and no host, port or URL", async () => {
    // A loopback port nothing listens on: taken, then freed.
    const port = await freePort();
    const storage = await onUrl(`postgres://rap:secret@127.0.0.1:${port}/rap`);
    try {
      const { app } = await appOnStorage(storage, config, { clock, schedulerHolder: HOLDER });
      expect(await readyz(app)).toEqual({
        status: 503,
        body: '{"database":"unavailable","scheduler_lease":false,"reason":"the database query failed: ECONNREFUSED"}',
      });
      await app.close();
    } finally {
      await storage.close();
    }
  });

  test("a server that never answers: 503 within the readiness timeout", async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as { port: number };
    const storage = await onUrl(`postgres://rap:secret@127.0.0.1:${port}/rap`);
    try {
      const { app } = await appOnStorage(storage, config, { clock, schedulerHolder: HOLDER });
      expect(await readyz(app)).toEqual({
        status: 503,
        body: '{"database":"unavailable","scheduler_lease":false,"reason":"the database did not answer within 2 s"}',
      });
      await app.close();
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
      await storage.close();
    }
  });
});

/** A PostgreSQL storage on `url`, opened without touching the server (no migration). */
function onUrl(url: string): Promise<Storage> {
  return openStorage(loadConfig({ ...CFG_A, DATABASE_URL: url }).database, { migrate: false });
}
