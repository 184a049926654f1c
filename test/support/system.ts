/**
 * The controller as `rap controller` runs it (src/app composition root), listening on 127.0.0.1 with a real SQLite
 * database in a temp WORKDIR (or, in the `postgres` test project, a fresh database on the test PostgreSQL server:
 * vitest.config.ts), a clock the test moves, and the scheduler driven one pass at a time (`tick`). Jobs
 * are created through the RAP API from real git repositories; a TestAgent drives them through the Task API.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino, { type Logger } from "pino";
import { type Controller, openController } from "../../src/app/controller.js";
import { type Env, loadConfig } from "../../src/config/index.js";
import type { Db } from "../../src/db/index.js";
import type { PostgresStorage } from "../../src/db/postgres-storage.js";
import type { SqliteStorage } from "../../src/db/sqlite-storage.js";
import { type Clock, ManualClock } from "../../src/domain/clock.js";
import type { PassReport } from "../../src/scheduler/scheduler.js";
import { testDatabaseEnv } from "./db.js";
import { TestAgent } from "./test-agent.js";

export const T0_MS = 1_700_000_000_000;

/** CFG-A (scenarios.md §0.2) with a Task API token, local repositories and no scheduled database tasks. */
export const SYSTEM_ENV: Env = {
  BACKENDS: "test",
  TEST_CLIENT_TOKENS: "test_token",
  TEST_JOB_SERVER_TOKEN: "agent_token",
  ALLOW_LOCAL_GIT_REPOS: "true",
  MAINTENANCE_ENABLED_BACKENDS: "",
  DATA_CHECK_ENABLED_BACKENDS: "",
  RESOLVE_IMAGE_DIGESTS: "false",
};

/** Parsed JSON, read freely by the tests (what JSON.parse returns). */
type Json = ReturnType<typeof JSON.parse>;

export interface Answer {
  status: number;
  json: Json;
}

export interface System<C extends Clock = ManualClock> {
  controller: Controller;
  clock: C;
  url: string;
  workdir: string;
  /** The controller's database, for tests that write rows no API would (either dialect: the portable queries). */
  db: Db;
  /** The settings naming the system's database besides WORKDIR (DATABASE_URL on PostgreSQL), for a `rap` process. */
  databaseEnv: Record<string, string>;
  /** One scheduler pass (controller.main.handle_jobs + update_scheduled_tasks). */
  tick(): Promise<PassReport>;
  agent(backend?: string, token?: string): TestAgent;
  post(path: string, body: unknown, token?: string): Promise<Answer>;
  get(path: string, token?: string): Promise<Answer>;
  /** The RAP's jobs by action, as rap/status/ shows them. */
  jobs(rapId: string, token?: string): Promise<Record<string, Json>>;
  close(): Promise<void>;
}

/**
 * Starts the controller; pass `clock: systemClock` (typed `System<Clock>`) for tests run on real time, where the
 * scheduler runs on a thread of its own as in `rap controller` (with the test's clock it runs on this thread).
 */
export async function startSystem<C extends Clock = ManualClock>(
  env: Env = {},
  options: { files?: Record<string, string>; clock?: C; log?: Logger } = {},
): Promise<System<C>> {
  const workdir = await mkdtemp(join(tmpdir(), "rap-system-"));
  for (const [name, text] of Object.entries(options.files ?? {})) await writeFile(join(workdir, name), text);
  // Migrated already: the controller's own migration at start-up is then a check (tests of a new database's
  // migration start a `rap` process on an empty one).
  const database = await testDatabaseEnv({ migrated: true });
  const config = loadConfig({ ...SYSTEM_ENV, ...database.env, ...env, WORKDIR: workdir, PORT: "1" });
  const clock = options.clock ?? (new ManualClock(T0_MS) as Clock as C);
  const controller = await openController(config, {
    clock,
    log: options.log ?? pino({ level: "silent" }),
    statusWorkers: 0,
  });
  await controller.app.listen({ host: "127.0.0.1", port: 0 });
  const { port } = controller.app.server.address() as { port: number };
  const url = `http://127.0.0.1:${port}`;
  const call = async (method: string, path: string, token: string, body?: unknown): Promise<Answer> => {
    const response = await fetch(`${url}/controller/v1${path}`, {
      method,
      headers: { authorization: token },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, json: text ? JSON.parse(text) : undefined };
  };
  return {
    controller,
    clock,
    url,
    workdir,
    db: (controller.storage as SqliteStorage | PostgresStorage).db,
    databaseEnv: database.env,
    tick: () => controller.scheduler.tick(),
    agent: (backend = "test", token = "agent_token") => new TestAgent(url, backend, token),
    post: (path, body, token = "test_token") => call("POST", path, token, body),
    get: (path, token = "test_token") => call("GET", path, token),
    async jobs(rapId, token = "test_token") {
      const answer = await call("POST", "/rap/status/", token, { rap_ids: [rapId] });
      return Object.fromEntries((answer.json.jobs as Json[]).map((job) => [job.action, job]));
    },
    async close() {
      await controller.close();
      await database.drop();
      await rm(workdir, { recursive: true, force: true });
    },
  };
}
