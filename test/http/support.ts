import type { FastifyInstance } from "fastify";
import { type Env, loadConfig } from "../../src/config/index.js";
import type { Db } from "../../src/db/index.js";
import { type AppDeps, buildApp } from "../../src/http/app.js";
import { jobCreator } from "../../src/jobs/index.js";
import { openTestDatabase } from "../support/db.js";

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
  /** The SQLite file behind `db`. */
  dbPath: string;
  get(path: string, headers?: Record<string, string>): Promise<Answer>;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Answer>;
  close(): Promise<void>;
}

export const API = "/controller/v1";

/** A freshly migrated database and an app on it (no port: requests go through `app.inject`). */
export async function startApi(env: Env = CFG_A, deps: Partial<AppDeps> = {}): Promise<TestApi> {
  const database = await openTestDatabase();
  const config = loadConfig(env);
  const app = await buildApp({
    config,
    db: database.db,
    createJobs: jobCreator(database.db, config),
    ...deps,
  });
  const answer = (response: Awaited<ReturnType<FastifyInstance["inject"]>>): Answer => ({
    status: response.statusCode,
    headers: response.headers,
    body: response.body,
    json: /json/.test(String(response.headers["content-type"])) ? JSON.parse(response.body) : undefined,
  });
  return {
    app,
    db: database.db,
    dbPath: database.path,
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
      await app.close();
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
