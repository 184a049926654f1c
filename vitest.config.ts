import { defineConfig } from "vitest/config";

/**
 * The test files that also run against PostgreSQL (the `postgres` project): they reach the database only through
 * the shared helpers (test/support/db.ts, system.ts), which give each test a fresh database on the test server there.
 */
const ON_POSTGRES_TOO = [
  "test/http/*.test.ts",
  "test/scheduler/*.test.ts",
  "test/cli/*.test.ts",
  "test/telemetry/metrics.test.ts",
  "test/app/scheduler-thread.test.ts",
];

/** Of those, the files that stay SQLite-only, and why. */
const SQLITE_ONLY = [
  // SQLite's rap/status SQL against the rows, and fractional seconds its time columns can hold (PostgreSQL's are
  // bigint); PostgreSQL's bytes are checked against SQLite's by test/db/storage-conformance.ts.
  "test/http/rap-status-sqlite.test.ts",
  // SQLITE_FULL from an SQLite file on a small tmpfs; PostgreSQL's disk_full is test/db/postgres-storage.test.ts's.
  "test/http/controller-disk-full.test.ts",
  // SQLite's own: a snapshot of the file, and refusing a WORKDIR without one (this file's PostgreSQL case, `rap
  // migrate`, operator commands, `rap tick` and snapshot-db saying pg_dump, runs in either project).
  "test/cli/snapshot-db.test.ts",
  "test/cli/operator-basics.test.ts",
  // No database at all (parsing, error classes, the schema validator, tokens; the scheduler's pure parts): the
  // same run on either.
  "test/http/body.test.ts",
  "test/http/errors.test.ts",
  "test/http/operator-tokens.test.ts",
  "test/http/validate.test.ts",
  "test/scheduler/lost-task.test.ts",
  "test/scheduler/order.test.ts",
  "test/scheduler/outcome.test.ts",
  "test/scheduler/storage-full.test.ts",
  "test/scheduler/weights.test.ts",
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
        test: {
          name: "postgres",
          include: ON_POSTGRES_TOO,
          exclude: SQLITE_ONLY,
          env: { RAP_TEST_DATABASE: "postgres" },
          // Every `rap` process a CLI test runs connects over TCP and checks the migrations: about a second more
          // each than on SQLite, and those tests run a dozen.
          testTimeout: 60_000,
        },
      },
    ];
  }
  const reason = `RAP_TEST_POSTGRES_URL is not set (eval "$(bash scripts/start-test-postgres.sh)" starts a server)`;
  if (process.env.RAP_REQUIRE_ALL_TESTS === "1")
    throw new Error(`required test dependency missing: ${reason}`);
  console.warn(`skipping the HTTP, scheduler and CLI tests on PostgreSQL: ${reason}`);
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
