/**
 * `npm run bench:metrics`: what the controller's metrics (issue 17) cost, measured in one run against the same
 * controller built without them (no OPERATOR_TOKENS: no metric is kept at all), on one SQLite file:
 *
 * - a RAP API request (`GET /controller/v1/backend/status/`) and a Task API poll (`GET /test/tasks/`, carrying the
 *   agent's figures header, which only the metrics read), each through `app.inject`: in process, no socket, so the
 *   difference is the metrics' own work (timing hook, counters, header parsing) rather than loopback noise;
 * - a steady-state scheduler pass over ACTIVE_JOBS pending jobs that change nothing (no workers free);
 * - one scrape of `/metrics` beside HISTORY finished jobs (the database gauges read the active-jobs index only).
 *
 * Beside them, the metrics' own work on its own (what the hooks call, per request, poll or pass), timed over many
 * calls in a row: on a loaded machine the whole-request difference can drown in noise, this figure cannot.
 *
 * With and without alternate batch by batch (BATCHES batches of each, the order swapped every batch), and each
 * batch is timed in CPU time of this process (user + system), not wall time: on a shared, loaded machine a request
 * waits for a core as often as it runs, which would drown a difference of microseconds. Medians of the batches are
 * shown. Prints the table, saves bench/results/metrics.json and rewrites the measured part of the "## Metrics"
 * section of docs/benchmarks.md.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { type Env, loadConfig } from "../src/config/index.js";
import type { Db } from "../src/db/index.js";
import { insertJobs } from "../src/db/queries/jobs.js";
import type { Storage } from "../src/db/storage.js";
import { AGENT_FIGURES_HEADER } from "../src/domain/agent-figures.js";
import { ManualClock } from "../src/domain/clock.js";
import { deterministicJobId } from "../src/domain/ids.js";
import type { Job } from "../src/domain/job.js";
import { StatusMessage } from "../src/domain/messages.js";
import { State, StatusCode } from "../src/domain/status.js";
import { parseAgentFigures } from "../src/http/agent-figures.js";
import { buildApp } from "../src/http/app.js";
import { jobCreator } from "../src/jobs/index.js";
import { NoImageDigests } from "../src/registry/index.js";
import { dbStatusRule } from "../src/scheduler/db-status.js";
import { readFlags } from "../src/scheduler/pass-context.js";
import { Scheduler } from "../src/scheduler/scheduler.js";
import { ControllerMetrics } from "../src/telemetry/metrics.js";
import { writeDocsSection } from "./docs-section.js";
import { openBenchStorage } from "./postgres.js";
import { median } from "./stats.js";

const ROOT = resolve(import.meta.dirname, "..");
const ACTIVE_JOBS = 1_000;
const HISTORY = 10_000;
/** Requests (or passes, scrapes) per batch, and batches per variant. */
const REQUESTS = 200;
const PASSES = 3;
const SCRAPES = 10;
const BATCHES = 40;
const NOW_S = 1_760_000_000;
const OPERATOR = "bench-operator";
const ENV: Env = {
  BACKENDS: "test",
  TEST_CLIENT_TOKENS: "bench-client",
  TEST_JOB_SERVER_TOKEN: "bench-agent",
  // No worker free: every pending job stays waiting, so a pass reads everything and writes nothing.
  TEST_MAX_WORKERS: "0",
  MAINTENANCE_ENABLED_BACKENDS: "",
  DATA_CHECK_ENABLED_BACKENDS: "",
  RESOLVE_IMAGE_DIGESTS: "false",
};
const FIGURES = JSON.stringify({
  running_jobs: 3,
  runtime_errors: 0,
  storage_free_bytes: { high_privacy: 52_613_349_376, medium_privacy: 52_613_349_376 },
});

function benchJob(i: number, overrides: Partial<Job>): Job {
  const rap = `bench${String(Math.floor(i / 10)).padStart(11, "0")}`;
  const action = `action_${i % 10}`;
  return {
    id: deterministicJobId(rap, action),
    rapId: rap,
    state: State.Pending,
    statusCode: StatusCode.WaitingOnWorkers,
    statusMessage: StatusMessage.WaitingOnWorkers,
    repoUrl: "https://github.com/opensafely/bench",
    commit: "0123456789abcdef0123456789abcdef01234567",
    branch: "main",
    workspace: `workspace_${Math.floor(i / 10) % 100}`,
    databaseName: "default",
    action,
    actionRepoUrl: null,
    actionCommit: null,
    requiresOutputsFrom: [],
    waitForJobIds: [],
    runCommand: `python:v2 analysis/${action}.py`,
    outputSpec: { moderately_sensitive: { table: `output/${action}.csv` } },
    cancelled: false,
    createdAt: NOW_S - 3600,
    updatedAt: NOW_S,
    startedAt: null,
    completedAt: null,
    statusCodeUpdatedAt: NOW_S * 1e9,
    traceContext: null,
    requiresDb: false,
    backend: "test",
    user: "bench_user",
    project: "bench-project",
    orgs: ["bench-org"],
    analysisScope: {},
    ...overrides,
  };
}

async function seed(db: Db): Promise<void> {
  const active = Array.from({ length: ACTIVE_JOBS }, (_, i) => benchJob(i, {}));
  const past = Array.from({ length: HISTORY }, (_, k) =>
    benchJob(ACTIVE_JOBS + k, {
      state: State.Succeeded,
      statusCode: StatusCode.Succeeded,
      statusMessage: StatusMessage.Succeeded,
      completedAt: NOW_S - 86_400,
    }),
  );
  await db.transaction().execute(async (trx) => {
    await insertJobs(trx as Db, past);
    await insertJobs(trx as Db, active);
  });
}

function metricsFor(storage: Storage, clock: ManualClock, backends: readonly string[]): ControllerMetrics {
  return new ControllerMetrics(
    {
      activeJobCounts: () => storage.jobs.activeCounts(),
      agentLastSeen: async () => {
        const flags = await readFlags(storage);
        return new Map(backends.map((b) => [b, flags.get(b)?.agentLastSeenAt ?? null]));
      },
    },
    () => clock.nowMs() / 1000,
  );
}

interface Variant {
  app: FastifyInstance;
  scheduler: Scheduler;
}

async function variant(storage: Storage, withMetrics: boolean): Promise<Variant> {
  const config = loadConfig({ ...ENV, ...(withMetrics ? { OPERATOR_TOKENS: OPERATOR } : {}) });
  const clock = new ManualClock(NOW_S * 1000);
  const metrics = withMetrics ? metricsFor(storage, clock, config.backends) : undefined;
  const log = pino({ level: "silent" });
  const app = await buildApp({
    config,
    storage,
    statusReader: storage.status,
    createJobs: jobCreator(storage, config, clock),
    dbStatusReported: dbStatusRule(clock),
    clock,
    ...(metrics ? { metrics } : {}),
  });
  const scheduler = new Scheduler({
    storage,
    config,
    clock,
    digests: new NoImageDigests(),
    log,
    // One holder for both, so they take turns with the lease.
    holder: "bench",
    observers: metrics ? [metrics.jobObserver] : [],
    ...(metrics ? { metrics } : {}),
  });
  return { app, scheduler };
}

/** CPU microseconds of this process (user + system). */
function cpuUs(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/** CPU microseconds per call of `once`, over `count` calls one after another. */
async function perCallUs(count: number, once: () => Promise<void>): Promise<number> {
  const started = cpuUs();
  for (let i = 0; i < count; i++) await once();
  return (cpuUs() - started) / count;
}

async function inject(app: FastifyInstance, url: string, headers: Record<string, string>): Promise<void> {
  const response = await app.inject({ method: "GET", url, headers });
  if (response.statusCode !== 200)
    throw new Error(`${url} answered ${response.statusCode}: ${response.body}`);
}

const CASES = {
  rapApi: {
    label: "RAP API `GET backend/status/`, per request",
    unit: "µs",
    run: (v: Variant) =>
      perCallUs(REQUESTS, () =>
        inject(v.app, "/controller/v1/backend/status/", { authorization: "bench-client" }),
      ),
  },
  taskApi: {
    label: "Task API `GET /test/tasks/` with the agent's figures, per poll",
    unit: "µs",
    run: (v: Variant) =>
      perCallUs(REQUESTS, () =>
        inject(v.app, "/test/tasks/", { authorization: "bench-agent", [AGENT_FIGURES_HEADER]: FIGURES }),
      ),
  },
  pass: {
    label: `scheduler pass over ${ACTIVE_JOBS.toLocaleString("en")} waiting jobs`,
    unit: "ms",
    run: async (v: Variant) => (await perCallUs(PASSES, async () => void (await v.scheduler.tick()))) / 1000,
  },
} as const;
type CaseName = keyof typeof CASES;

/** CPU microseconds per call of the metrics' own work for one request, one poll and one pass. */
function directCosts(metrics: ControllerMetrics): Record<CaseName, number> {
  const calls = 200_000;
  const time = (once: (i: number) => void) => {
    for (let i = 0; i < 1000; i++) once(i);
    const started = cpuUs();
    for (let i = 0; i < calls; i++) once(i);
    return (cpuUs() - started) / calls;
  };
  return {
    rapApi: time((i) =>
      metrics.requestAnswered("/controller/v1/backend/status/", "GET", 200, 1e-4 + i * 1e-9),
    ),
    taskApi: time((i) => {
      metrics.agentReported("test", parseAgentFigures(FIGURES));
      metrics.tasksServedTo("test", 1);
      metrics.requestAnswered("/:backend/tasks/", "GET", 200, 1e-4 + i * 1e-9);
    }),
    pass: time((i) => metrics.passFinished(0.01 + i * 1e-9, 0)),
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "rap-bench-metrics-"));
  try {
    const location = { dialect: "sqlite" as const, path: join(dir, "db.sqlite") };
    const { db, storage } = await openBenchStorage(location, { statusWorkers: 0 });
    await seed(db);
    const without = await variant(storage, false);
    const withMetrics = await variant(storage, true);

    const samples: Record<CaseName, { without: number[]; with: number[] }> = {
      rapApi: { without: [], with: [] },
      taskApi: { without: [], with: [] },
      pass: { without: [], with: [] },
    };
    const scrapeMs: number[] = [];
    for (const name of Object.keys(CASES) as CaseName[]) {
      // Warm-up batches, not counted: JIT, caches, the first pass reading every job in full.
      for (let batch = -3; batch < BATCHES; batch++) {
        // Swap which goes first, so neither always runs on a warmer cache.
        const order = batch % 2 === 0 ? ([without, withMetrics] as const) : ([withMetrics, without] as const);
        for (const v of order) {
          const value = await CASES[name].run(v);
          if (batch >= 0) samples[name][v === without ? "without" : "with"].push(value);
        }
      }
    }
    for (let batch = -1; batch < BATCHES; batch++) {
      const scrape =
        (await perCallUs(SCRAPES, () =>
          inject(withMetrics.app, "/metrics", { authorization: `Bearer ${OPERATOR}` }),
        )) / 1000;
      if (batch >= 0) scrapeMs.push(scrape);
    }
    const clock = new ManualClock(NOW_S * 1000);
    const direct = directCosts(metricsFor(storage, clock, ["test"]));
    await without.app.close();
    await withMetrics.app.close();
    await storage.close();

    const rows = (Object.keys(CASES) as CaseName[]).map((name) => {
      const before = median(samples[name].without);
      const after = median(samples[name].with);
      return {
        name,
        label: CASES[name].label,
        unit: CASES[name].unit,
        without: before,
        with: after,
        directUs: direct[name],
      };
    });
    const fmt = (value: number, unit: string) => `${value.toFixed(unit === "µs" ? 1 : 2)} ${unit}`;
    const table = [
      "| case | without metrics | with metrics | difference | the metrics' own work |",
      "|---|---|---|---|---|",
      ...rows.map(
        (r) =>
          `| ${r.label} | ${fmt(r.without, r.unit)} | ${fmt(r.with, r.unit)} | ${r.with >= r.without ? "+" : "−"}${fmt(Math.abs(r.with - r.without), r.unit)} (${(((r.with - r.without) / r.without) * 100).toFixed(1)} %) | ${r.directUs.toFixed(1)} µs |`,
      ),
      `| one scrape of \`/metrics\` (${ACTIVE_JOBS.toLocaleString("en")} active jobs, ${HISTORY.toLocaleString("en")} finished) | | ${fmt(median(scrapeMs), "ms")} | | |`,
    ].join("\n");
    const machine = `${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, load ${loadavg()[0]!.toFixed(1)}, Node ${process.version}`;
    const measured = `CPU time per call, medians of ${BATCHES} alternating batches per variant (${REQUESTS} requests, ${PASSES} passes or ${SCRAPES} scrapes a batch, in process through \`app.inject\`), SQLite, ${machine}:\n\n${table}`;
    console.log(measured);
    mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
    writeFileSync(
      join(ROOT, "bench", "results", "metrics.json"),
      `${JSON.stringify({ machine, rows, samples, scrapeMs }, null, 2)}\n`,
    );
    writeDocsSection("bench:metrics", "Metrics", measured);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
