import type { Tracer } from "@opentelemetry/api";
import type { FastifyInstance } from "fastify";
import type { KyselyPlugin } from "kysely";
import type { Logger } from "pino";
import { type Config, type Env, loadConfig } from "../../src/config/index.js";
import type { Db } from "../../src/db/index.js";
import type { Storage } from "../../src/db/storage.js";
import { type Clock, systemClock } from "../../src/domain/clock.js";
import { buildApp, type CreateJobs } from "../../src/http/app.js";
import { jobCreator } from "../../src/jobs/index.js";
import { dbStatusRule } from "../../src/scheduler/db-status.js";
import { openTestDb, type TestDatabase } from "../support/db.js";

/** CFG-A of reference/scenarios.md §0.2: one backend `test`, client token `test_token`. */
export const CFG_A: Env = { BACKENDS: "test", TEST_CLIENT_TOKENS: "test_token" };
export const H = { authorization: "test_token" } as const;

export interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: string;
  /** The parsed body, when it is JSON. */
  json: unknown;
}

export interface TestApi {
  app: FastifyInstance;
  db: Db;
  /** The test database behind `db` (SQLite, or PostgreSQL in the `postgres` project). */
  database: TestDatabase;
  get(path: string, headers?: Record<string, string>): Promise<Answer>;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Answer>;
  close(): Promise<void>;
}

export const API = "/controller/v1";

export interface ApiOptions {
  clock?: Clock;
  tracer?: Tracer;
  /** Serve through this Kysely plugin (e.g. one counting queries); rap/status then answers on the main thread. */
  plugin?: KyselyPlugin;
  /** Status worker threads (default 2; 0 for none). */
  statusWorkers?: number;
  /** A stand-in create pipeline (tests of the view's own steps). */
  createJobs?: CreateJobs;
  /** The process log (none by default). */
  log?: Logger;
  /** The lease holder name of this app's scheduler, for `/readyz` (none by default). */
  schedulerHolder?: string;
  /** Stands in for the scheduler's wake (none by default). */
  wakeScheduler?: () => void;
}

/** The app as src/app/controller.ts builds it, on `db` of `database`, with the test's clock and tracer. */
export async function appOn(db: Db, database: TestDatabase, config: Config, options: ApiOptions = {}) {
  // The test database closes the Db itself; the storage's status readers are this app's to stop.
  const storage = database.storageOn(db, { statusWorkers: options.statusWorkers ?? 0 });
  const served = await appOnStorage(storage, config, options);
  return {
    app: served.app,
    close: async () => {
      await served.app.close();
      await storage.closeReaders();
    },
  };
}

/** The app as src/app/controller.ts builds it, on any storage (the caller closes the storage). */
export async function appOnStorage(storage: Storage, config: Config, options: ApiOptions = {}) {
  const clock = options.clock ?? systemClock;
  const app = await buildApp({
    config,
    storage,
    statusReader: storage.status,
    createJobs: options.createJobs ?? jobCreator(storage, config, clock),
    dbStatusReported: dbStatusRule(clock),
    clock,
    ...(options.tracer ? { tracer: options.tracer } : {}),
    ...(options.log ? { log: options.log } : {}),
    ...(options.schedulerHolder ? { schedulerHolder: options.schedulerHolder } : {}),
    ...(options.wakeScheduler ? { wakeScheduler: options.wakeScheduler } : {}),
  });
  return { app };
}

/** A freshly migrated database and an app on it (no port: requests go through `app.inject`). */
export async function startApi(env: Env = CFG_A, options: ApiOptions = {}): Promise<TestApi> {
  const database = await openTestDb();
  const config = loadConfig(env);
  // Status workers have connections of their own: they would bypass the plugin.
  const served = await appOn(
    options.plugin ? database.db.withPlugin(options.plugin) : database.db,
    database,
    config,
    { ...options, statusWorkers: options.plugin ? 0 : (options.statusWorkers ?? 2) },
  );
  const { app } = served;
  const answer = (response: Awaited<ReturnType<FastifyInstance["inject"]>>): Answer => ({
    status: response.statusCode,
    headers: response.headers,
    body: response.body,
    json: /json/.test(String(response.headers["content-type"])) ? JSON.parse(response.body) : undefined,
  });
  return {
    app,
    db: database.db,
    database,
    get: async (path, headers = H) => answer(await app.inject({ method: "GET", url: API + path, headers })),
    post: async (path, body, headers = H) =>
      answer(
        await app.inject({
          method: "POST",
          url: API + path,
          headers,
          // Strings and buffers go as they are; anything else as JSON (what job-server sends).
          payload: typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body),
        }),
      ),
    close: async () => {
      await served.close();
      await database.close();
    },
  };
}

/** A valid create body (the reference test factory's defaults, reference/scenarios.md §0.3). */
export function createBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    backend: "test",
    rap_id: "abcdefgh23456789",
    workspace: "workspace",
    repo_url: "/repo",
    branch: "main",
    commit: "0123456789abcdef0123456789abcdef01234567",
    database_name: "default",
    requested_actions: ["action"],
    codelists_ok: true,
    force_run_dependencies: false,
    created_by: "test_user",
    project: "test_project",
    orgs: ["test_org"],
    analysis_scope: {},
    ...overrides,
  };
}
