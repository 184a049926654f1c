/**
 * The create pipeline over HTTP, end to end: the real app, a real SQLite database, real git repositories in temp
 * dirs, and a local git server standing in for GitHub (GitHub itself cannot be reached from here).
 */
import { join } from "node:path";
import { type Env, loadConfig } from "../../src/config/index.js";
import { type Answer, API, appOn, createBody, H } from "../http/support.js";
import { openTestDb, type TestDatabase } from "../support/db.js";
import { createTempDir, removeDir } from "../support/git-fixtures.js";

export { H } from "../http/support.js";

export interface CreateApi {
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Answer>;
  db: TestDatabase["db"];
  workdir: string;
  close(): Promise<void>;
}

/** CFG-A (scenarios.md §0.2) with local repositories allowed, plus any overrides. */
export const CFG_LOCAL: Env = {
  BACKENDS: "test",
  TEST_CLIENT_TOKENS: "test_token",
  ALLOW_LOCAL_GIT_REPOS: "true",
};

export async function startCreateApi(env: Env = CFG_LOCAL): Promise<CreateApi> {
  const workdir = await createTempDir("rap-e2e-");
  const database = await openTestDb("sqlite");
  const config = loadConfig({ ...env, WORKDIR: join(workdir, "work") });
  const { app, close } = await appOn(database.db, database, config);
  return {
    db: database.db,
    workdir,
    post: async (path, body, headers = H) => {
      const response = await app.inject({
        method: "POST",
        url: API + path,
        headers,
        payload: JSON.stringify(body),
      });
      return {
        status: response.statusCode,
        headers: response.headers,
        body: response.body,
        json: response.json(),
      };
    },
    close: async () => {
      await close();
      await database.close();
      await removeDir(workdir);
    },
  };
}

let rapCounter = 0;
const rapPrefix = `p${process.pid.toString(36)}`.padEnd(7, "0").slice(0, 7);
/** A fresh 16-character rap id, unique across the test files running in parallel. */
export function newRapId(): string {
  rapCounter += 1;
  return rapPrefix + String(rapCounter).padStart(9, "0");
}

/** The default create body of scenarios.md §0.3 for a repository and commit, with a fresh rap_id. */
export function body(repoUrl: string, commit: string, overrides: Record<string, unknown> = {}) {
  return createBody({ rap_id: newRapId(), repo_url: repoUrl, commit, ...overrides });
}
