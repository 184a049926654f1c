/**
 * The RAP API answers byte for byte the same on PostgreSQL as on SQLite (issue 15): the same requests, at the same
 * clock, to an app on each database, through the real create pipeline (local git repositories). Skips, naming
 * RAP_TEST_POSTGRES_URL, where no PostgreSQL server is given.
 */
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import { openStorage } from "../../src/db/open.js";
import type { Storage } from "../../src/db/storage.js";
import { ManualClock } from "../../src/domain/clock.js";
import { API, appOn, appOnStorage, createBody, H } from "../http/support.js";
import { FX_GIT } from "../jobs/fixtures.js";
import { openTestDb } from "../support/db.js";
import { createStudyRepo, createTempDir, removeDir, type StudyRepo } from "../support/git-fixtures.js";
import { createTestPostgres, postgresRequirement } from "../support/postgres.js";
import { requires } from "../support/requirements.js";
import { CFG_LOCAL } from "./support.js";

const available = requires(postgresRequirement());

interface Served {
  app: FastifyInstance;
  close(): Promise<void>;
}

const clock = new ManualClock(1_700_000_000_000);
let sqlite: Served;
let postgres: Served;
let repo: StudyRepo;
let workdir: string;

beforeAll(async () => {
  if (!available) return;
  workdir = await createTempDir("rap-pg-api-");
  repo = await createStudyRepo({ files: { "project.yaml": FX_GIT } });
  const config = (name: string) => loadConfig({ ...CFG_LOCAL, WORKDIR: join(workdir, name) });

  const database = await openTestDb("sqlite");
  const onSqlite = await appOn(database.db, database, config("sqlite"), { clock });
  sqlite = {
    app: onSqlite.app,
    close: async () => {
      await onSqlite.close();
      await database.close();
    },
  };

  const server = await createTestPostgres();
  const storage: Storage = await openStorage(
    loadConfig({ DATABASE_URL: server.url, WORKDIR: workdir }).database,
    { migrate: true },
  );
  const onPostgres = await appOnStorage(storage, config("postgres"), { clock });
  postgres = {
    app: onPostgres.app,
    close: async () => {
      await onPostgres.app.close();
      await storage.close();
      await server.drop();
    },
  };
});

afterAll(async () => {
  await sqlite?.close();
  await postgres?.close();
  if (workdir) await removeDir(workdir);
});

/** Trace and span ids are random per create: the one part of an answer that differs between any two apps. */
const TRACEPARENT = /"00-[0-9a-f]{32}-[0-9a-f]{16}-01"/g;

/**
 * The same request to both apps: their answers (status, content type, body bytes) must be identical, but for the
 * random ids inside each job's traceparent.
 */
async function both(
  method: "GET" | "POST",
  path: string,
  body?: unknown,
  headers: Record<string, string> = H,
) {
  const ask = (app: FastifyInstance) =>
    app.inject({
      method,
      url: API + path,
      headers,
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  const [a, b] = [await ask(sqlite.app), await ask(postgres.app)];
  const answer = (r: typeof a) => ({
    status: r.statusCode,
    type: r.headers["content-type"],
    body: r.body.replaceAll(TRACEPARENT, '"00-TRACE-SPAN-01"'),
  });
  expect(answer(b)).toEqual(answer(a));
  return answer(a);
}

const RAP_1 = "pgapi00000000001";
const RAP_2 = "pgapi00000000002";

describe.skipIf(!available)("the RAP API on PostgreSQL and on SQLite", () => {
  test("create, create again, status, cancel and backend/status answer the same bytes", async () => {
    const create = (rapId: string, overrides: Record<string, unknown> = {}) =>
      both(
        "POST",
        "/rap/create/",
        createBody({
          rap_id: rapId,
          repo_url: repo.path,
          commit: repo.commits[0],
          requested_actions: ["run_model"],
          ...overrides,
        }),
      );
    expect((await create(RAP_1)).status).toBe(201);
    // The same rap_id again, a RAP in another workspace, and one in the same workspace while the first's jobs are
    // active.
    await create(RAP_1);
    clock.advance(1000);
    expect(
      (await create(RAP_2, { workspace: "second", requested_actions: ["generate_dataset"] })).status,
    ).toBe(201);
    await create(RAP_2, {
      rap_id: "pgapi00000000003",
      requested_actions: ["run_model"],
      force_run_dependencies: true,
    });

    const status = await both("POST", "/rap/status/", { rap_ids: [RAP_2, RAP_1, "pgapi0000000000x"] });
    expect(status.status).toBe(200);
    expect(JSON.parse(status.body).jobs.length).toBeGreaterThan(0);

    clock.advance(1000);
    await both("POST", "/rap/cancel/", { rap_id: RAP_1, actions: ["run_model"] });
    await both("POST", "/rap/status/", { rap_ids: [RAP_1, RAP_2, "pgapi00000000003"] });
    await both("GET", "/backend/status/");
  });
});
