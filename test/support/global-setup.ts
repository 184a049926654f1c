import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { loadConfig } from "../../src/config/index.js";
import { openStorage } from "../../src/db/open.js";
import { createTestPostgres, POSTGRES_TEMPLATE_VARIABLE, POSTGRES_URL_VARIABLE } from "./postgres.js";

/**
 * Before any test file runs: builds src/ to dist/ (`npm run build`, under a second), so tests that spawn the real
 * `rap` command always run the current code, and, with a PostgreSQL test server, makes the
 * migrated template its test databases are copied from. Runs once per project; the first does the work.
 */
export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  if (process.env[POSTGRES_TEMPLATE_VARIABLE] !== undefined) return undefined;
  const root = resolve(import.meta.dirname, "..", "..");
  execFileSync(process.execPath, [resolve(root, "scripts/build.mjs")], { cwd: root, stdio: "inherit" });
  if (!process.env[POSTGRES_URL_VARIABLE]) {
    process.env[POSTGRES_TEMPLATE_VARIABLE] = "";
    return undefined;
  }
  const template = await createTestPostgres();
  const storage = await openStorage(loadConfig({ BACKENDS: "test", DATABASE_URL: template.url }).database, {
    migrate: true,
  });
  await storage.close();
  // Test workers inherit this process's environment (vitest forks them after the global setup).
  process.env[POSTGRES_TEMPLATE_VARIABLE] = new URL(template.url).pathname.slice(1);
  return () => template.drop();
}
