import { defineConfig } from "vitest/config";

/**
 * The test files that also run against PostgreSQL (the `postgres` project): they reach the database only through
 * the shared helpers, which give each test a fresh database on the test server there (test/support/postgres.ts).
 */
const ON_POSTGRES_TOO = [
  "test/scheduler/loop.test.ts",
  "test/scheduler/observers.test.ts",
  "test/scheduler/robustness.test.ts",
  "test/scheduler/task-api.test.ts",
  "test/telemetry/metrics.test.ts",
];

/**
 * The `postgres` project needs a server (RAP_TEST_POSTGRES_URL, scripts/start-test-postgres.sh). Without one it is
 * left out with a message, as a test skips (test/support/requirements.ts); where every test is required (CI) that
 * is an error.
 */
function postgresProjects() {
  if (process.env.RAP_TEST_POSTGRES_URL) {
    return [
      {
        extends: true as const,
        test: { name: "postgres", include: ON_POSTGRES_TOO, env: { RAP_TEST_DATABASE: "postgres" } },
      },
    ];
  }
  const reason = `RAP_TEST_POSTGRES_URL is not set (eval "$(bash scripts/start-test-postgres.sh)" starts a server)`;
  if (process.env.RAP_REQUIRE_ALL_TESTS === "1")
    throw new Error(`required test dependency missing: ${reason}`);
  console.warn(`skipping the scheduler tests on PostgreSQL: ${reason}`);
  return [];
}

export default defineConfig({
  test: {
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each file gets a fresh module graph and its own temp dirs; files run in parallel.
    pool: "forks",
    reporters: process.env.CI ? ["default", ["json", { outputFile: "test-results.json" }]] : ["default"],
    // Each project's `include` is its own: `extends` would add the root's to it.
    projects: [
      { extends: true, test: { name: "sqlite", include: ["test/**/*.test.ts"] } },
      ...postgresProjects(),
    ],
  },
});
