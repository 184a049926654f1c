/**
 * `npm run bench:loop`: whether a scheduler pass holds up the controller's HTTP answers (issue 18).
 *
 * A controller (the composition root, as `rap controller` builds it) on a database with 10,000 active jobs on 4
 * backends: half running (an active RUNJOB task whose agent reported `executing`), half waiting on workers (each
 * backend's MAX_WORKERS is exactly its running jobs), so a pass reads every job and changes none. The jobs' times
 * are an hour ahead, so no heartbeat falls due during the run. A client on a thread of its own (./loop-client-worker.ts)
 * asks `GET /` and `GET /test/tasks/` (the `test` backend has 1% of the jobs: its answer is small) one after another
 * for BENCH_SECONDS (default 10) in each of three runs:
 * - no scheduler: the baseline;
 * - the scheduler on the HTTP server's thread (`schedulerThread: false`, what every controller did before);
 * - the scheduler on a thread of its own (the default).
 * Each run reports both requests' p50/p99, and the HTTP thread's event-loop delay (perf_hooks'
 * monitorEventLoopDelay) p99 and max; the passes run and their mean time come from the controller's metrics. SQLite
 * and, when a server is named (bench/postgres.ts), PostgreSQL in the same run. Prints the table, saves
 * bench/results/loop.json and rewrites the measured part of the "## Scheduler off the HTTP thread" section of
 * docs/benchmarks.md.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import pino from "pino";
import { openController } from "../src/app/controller.js";
import { type Config, type DatabaseLocation, type Env, loadConfig } from "../src/config/index.js";
import type { Db } from "../src/db/index.js";
import { insertJobs } from "../src/db/queries/jobs.js";
import { insertTask, recordAgentUpdate } from "../src/db/queries/tasks.js";
import { deterministicJobId } from "../src/domain/ids.js";
import type { Job } from "../src/domain/job.js";
import { StatusMessage } from "../src/domain/messages.js";
import { State, StatusCode } from "../src/domain/status.js";
import { runJobTaskId, TaskType } from "../src/domain/task.js";
import { jobDefinition, taskAttributes } from "../src/scheduler/definition.js";
import { startWorker } from "../src/threads/start.js";
import { writeDocsSection } from "./docs-section.js";
import type { ClientLatencies, ClientOrder } from "./loop-client-worker.js";
import { benchDialects, createBenchDatabase, DIALECT_NAMES, type Dialect, openMigrated } from "./postgres.js";

const ROOT = resolve(import.meta.dirname, "..");
const BACKENDS = ["test", "tpp", "emis", "ted"] as const;
const POLLED = "test";
const JOBS = Number(process.env.BENCH_JOBS ?? 10_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WORKSPACES = 200;
const OPERATOR = "bench-operator-token";
const agentToken = (backend: string) => `bench-agent-token-${backend}`;
/** Seeding time: now, and the jobs' last change an hour ahead (no heartbeat falls due while the bench runs). */
const NOW_S = Math.floor(Date.now() / 1000);
const AHEAD_S = NOW_S + 3600;

type Mode = "none" | "http-thread" | "own-thread";
const MODES: readonly Mode[] = ["none", "http-thread", "own-thread"];
const MODE_NAMES: Record<Mode, string> = {
  none: "no scheduler (baseline)",
  "http-thread": "scheduler on the HTTP thread (before)",
  "own-thread": "scheduler on its own thread (now)",
};

// ---------------------------------------------------------------------------------------------------------------
// The database

/** Job `i`: in workspace `i / 4 mod 200`; on `test` one job in a hundred, the rest spread over the others. */
function benchJob(i: number, running: boolean): Job {
  const w = Math.floor(i / 4) % WORKSPACES;
  const rapId = `loop${String(w).padStart(12, "0")}`;
  const action = `action_${i}`;
  return {
    id: deterministicJobId(rapId, action),
    rapId,
    state: running ? State.Running : State.Pending,
    statusCode: running ? StatusCode.Executing : StatusCode.WaitingOnWorkers,
    statusMessage: running ? StatusMessage.Initiated : StatusMessage.WaitingOnWorkers,
    repoUrl: "https://github.com/opensafely/bench-study",
    commit: "0123456789abcdef0123456789abcdef01234567",
    branch: "main",
    workspace: `bench-workspace-${w}`,
    databaseName: "default",
    action,
    actionRepoUrl: null,
    actionCommit: null,
    requiresOutputsFrom: [],
    waitForJobIds: [],
    runCommand: `python:v2 analysis/step_${i}.py --output output/step_${i}.csv`,
    outputSpec: { moderately_sensitive: { table: `output/step_${i}.csv` } },
    cancelled: false,
    createdAt: NOW_S - 3600,
    updatedAt: AHEAD_S,
    startedAt: running ? NOW_S - 60 : null,
    completedAt: null,
    statusCodeUpdatedAt: AHEAD_S * 1_000_000_000,
    traceContext: null,
    requiresDb: false,
    backend: i % 100 === 0 ? POLLED : BACKENDS[1 + (i % 3)]!,
    user: "bench_user",
    project: "bench-project",
    orgs: ["bench-org"],
    analysisScope: {},
  };
}

function config(location: DatabaseLocation, workdir: string, running: Record<string, number>): Config {
  const env: Record<string, string> = {
    BACKENDS: BACKENDS.join(","),
    WORKDIR: workdir,
    DATABASE_URL: location.dialect === "sqlite" ? `sqlite:${location.path}` : location.url,
    RESOLVE_IMAGE_DIGESTS: "false",
    MAINTENANCE_ENABLED_BACKENDS: "",
    DATA_CHECK_ENABLED_BACKENDS: "",
    OPERATOR_TOKENS: OPERATOR,
  };
  for (const backend of BACKENDS) {
    const prefix = backend.toUpperCase();
    env[`${prefix}_JOB_SERVER_TOKEN`] = agentToken(backend);
    env[`${prefix}_CLIENT_TOKENS`] = "bench-client-token";
    env[`${prefix}_MAX_WORKERS`] = String(running[backend] ?? 0);
  }
  return loadConfig(env satisfies Env);
}

/** Seeds the jobs (and the running ones' tasks); answers each backend's running jobs (its MAX_WORKERS). */
async function seed(location: DatabaseLocation, workdir: string): Promise<Record<string, number>> {
  const jobs = Array.from({ length: JOBS }, (_, i) => benchJob(i, i % 2 === 0));
  const running: Record<string, number> = {};
  for (const job of jobs)
    if (job.state === State.Running) running[job.backend] = (running[job.backend] ?? 0) + 1;
  const settings = config(location, workdir, running);
  const db = await openMigrated(location);
  try {
    await db.transaction().execute(async (trx) => {
      await insertJobs(trx as Db, jobs);
      for (const job of jobs) {
        if (job.state !== State.Running) continue;
        const taskId = runJobTaskId(job.id, 1);
        const definition = jobDefinition(job, settings.scheduler, {
          taskId,
          imageSha: null,
          inputJobIds: [],
        });
        await insertTask(trx as Db, {
          id: taskId,
          backend: job.backend,
          type: TaskType.RunJob,
          jobId: job.id,
          definition: { ...definition },
          attributes: taskAttributes(job),
          createdAt: NOW_S - 60,
        });
        const update = {
          stage: StatusCode.Executing,
          results: {},
          complete: false,
          timestampNs: NOW_S * 1e9,
        };
        await recordAgentUpdate(trx as Db, job.backend, taskId, update, NOW_S);
      }
    });
  } finally {
    await db.destroy();
  }
  return running;
}

// ---------------------------------------------------------------------------------------------------------------
// One run

interface Run {
  database: Dialect;
  mode: Mode;
  health: { p50: number; p99: number; max: number };
  tasks: { p50: number; p99: number };
  requests: number;
  loopDelay: { p99: number; max: number };
  passes: number;
  meanPassMs: number;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** The value of a metric without labels in a Prometheus text answer (0 when absent). */
function metric(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(" ")[1]) : 0;
}

function runClient(order: ClientOrder): Promise<ClientLatencies> {
  const client = startWorker(import.meta.url, "loop-client-worker", { workerData: order });
  return new Promise((done, fail) => {
    client.once("message", done);
    client.once("error", fail);
  });
}

async function measure(dialect: Dialect, mode: Mode, settings: Config): Promise<Run> {
  const controller = await openController(settings, {
    log: pino({ level: "silent" }),
    schedulerThread: mode === "own-thread",
  });
  try {
    await controller.app.listen({ host: "127.0.0.1", port: 0 });
    const port = (controller.app.server.address() as { port: number }).port;
    if (mode !== "none") {
      // The first pass outside the measure (it also starts the thread); the data must stay as seeded.
      const first = await controller.scheduler.tick();
      if (first.jobs !== JOBS || first.changed !== 0 || first.failed !== 0)
        throw new Error(`the pass was not steady: ${JSON.stringify(first)}`);
      controller.scheduler.start();
    }
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const latencies = await runClient({
      port,
      backend: POLLED,
      agentToken: agentToken(POLLED),
      seconds: SECONDS,
    });
    delay.disable();
    if (!latencies.ok) throw new Error(`${mode}: an answer was not 200`);
    const scraped = await controller.app.inject({
      url: "/metrics",
      headers: { authorization: `Bearer ${OPERATOR}` },
    });
    const passes = metric(scraped.body, "rap_scheduler_pass_duration_seconds_count");
    const passSeconds = metric(scraped.body, "rap_scheduler_pass_duration_seconds_sum");
    return {
      database: dialect,
      mode,
      health: {
        p50: percentile(latencies.health, 50),
        p99: percentile(latencies.health, 99),
        max: Math.max(...latencies.health),
      },
      tasks: { p50: percentile(latencies.tasks, 50), p99: percentile(latencies.tasks, 99) },
      requests: latencies.health.length + latencies.tasks.length,
      loopDelay: { p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 },
      // The pass before the measure included.
      passes,
      meanPassMs: passes > 0 ? (passSeconds * 1000) / passes : 0,
    };
  } finally {
    await controller.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Report

function ms(value: number): string {
  if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
  if (value >= 10) return `${value.toFixed(0)} ms`;
  return `${value.toFixed(2)} ms`;
}

function table(runs: readonly Run[]): string {
  const header = [
    "database",
    "scheduler",
    "`GET /` p50",
    "`GET /` p99",
    "`GET /` max",
    "`GET /test/tasks/` p50",
    "p99",
    "HTTP thread's event-loop delay p99",
    "max",
    "requests answered",
    "passes (mean)",
  ];
  const rows = runs.map((run) => [
    DIALECT_NAMES[run.database],
    MODE_NAMES[run.mode],
    ms(run.health.p50),
    ms(run.health.p99),
    ms(run.health.max),
    ms(run.tasks.p50),
    ms(run.tasks.p99),
    ms(run.loopDelay.p99),
    ms(run.loopDelay.max),
    String(run.requests),
    run.mode === "none" ? "—" : `${run.passes} (${ms(run.meanPassMs)})`,
  ]);
  const line = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map((_, i) => (i < 2 ? "---" : "---:"))), ...rows.map(line)].join("\n");
}

async function main(): Promise<void> {
  const dialects = benchDialects();
  const dir = mkdtempSync(join(tmpdir(), "rap-bench-loop-"));
  const loadAtStart = loadavg()[0]!;
  const runs: Run[] = [];
  try {
    for (const dialect of dialects) {
      const database = await createBenchDatabase(dialect, dir, "loop");
      try {
        const workdir = join(dir, `workdir-${dialect}`);
        mkdirSync(workdir, { recursive: true });
        const running = await seed(database.location, workdir);
        const settings = config(database.location, workdir, running);
        for (const mode of MODES) {
          const run = await measure(dialect, mode, settings);
          console.log(`${DIALECT_NAMES[dialect]}, ${MODE_NAMES[mode]}: ${JSON.stringify(run)}`);
          runs.push(run);
        }
      } finally {
        await database.drop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const loadAtEnd = loadavg()[0]!;
  const rendered = table(runs);
  console.log(`\n${rendered}`);
  mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
  writeFileSync(join(ROOT, "bench", "results", "loop.json"), `${JSON.stringify(runs, null, 2)}\n`);
  const date = new Date().toISOString().slice(0, 10);
  const databases = dialects.map((d) => DIALECT_NAMES[d]).join(" and ");
  writeDocsSection(
    "bench:loop",
    "Scheduler off the HTTP thread",
    [
      `Measured by \`npm run bench:loop\` on ${date}, ${cpus().length} cores, on ${databases} in the same run:`,
      `a controller with ${JOBS.toLocaleString("en")} active jobs (half running, half waiting on workers: every pass`,
      "reads them all and changes none), the default JOB_LOOP_INTERVAL (1 s), and a client on its own thread asking",
      `\`GET /\` and \`GET /test/tasks/\` (${JOBS / 200} tasks) one after another for ${SECONDS} s per row. Event-loop`,
      "delay: perf_hooks' monitorEventLoopDelay on the HTTP server's thread, 1 ms resolution. Passes: those run",
      "during the row (with the one before it), and their mean time, from the controller's metrics.",
      `Load average: ${loadAtStart.toFixed(1)} when the run began, ${loadAtEnd.toFixed(1)} when it ended.`,
      "",
      rendered,
    ].join("\n"),
  );
}

await main();
