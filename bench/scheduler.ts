/**
 * `npm run bench:scheduler`: the controller's loop on a real SQLite file.
 *
 * - A steady-state pass (`Scheduler.tick()`) over 100, 1,000 and 10,000 active jobs on 4 backends and up to 200
 *   workspaces: half the jobs run (an active RUNJOB task whose agent reported `executing`), a quarter wait on a
 *   running dependency, a quarter on workers (each backend's MAX_WORKERS is exactly its running jobs), so a pass
 *   changes nothing. The clock stands still, so no heartbeat is due either. Beside it, the SQL statements one pass
 *   runs, counted on the connection (every statement better-sqlite3 runs, Kysely's and the direct reads alike).
 *   Then passes each after one running job's agent reported `executing` again: the pass reads that task and handles
 *   the jobs it may affect (the job, and the job waiting on it: a stage frees no worker).
 * - The pass that starts 1,000 and 10,000 pending jobs with unlimited workers (digests off), each on a fresh copy
 *   of the seeded file.
 * - `GET /{backend}/tasks/` with 1,000 active tasks, over loopback, one request after another.
 *
 * Baselines from the same run: reading the same rows with one plain better-sqlite3 SELECT (passes, tasks), and for
 * the start pass the same writes (a task row inserted and a job row updated per job) as plain prepared statements
 * in one transaction. Every case runs on SQLite and, when a server is named (bench/postgres.ts), on PostgreSQL in
 * the same run; there the baselines are the same plain SELECTs through `pg` (the start pass has none), statements
 * are counted on `pg`'s clients, and each start round runs on a copy made with `create database … template`.
 * Prints the table, saves bench/results/scheduler.json and rewrites the measured part of the "## Scheduler" section
 * of docs/benchmarks.md.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import SqliteDatabase from "better-sqlite3";
import pg from "pg";
import { type Config, type DatabaseLocation, type Env, loadConfig } from "../src/config/index.js";
import type { Db } from "../src/db/index.js";
import { insertJobs } from "../src/db/queries/jobs.js";
import { insertTask, recordAgentUpdate } from "../src/db/queries/tasks.js";
import { ManualClock } from "../src/domain/clock.js";
import { deterministicJobId } from "../src/domain/ids.js";
import type { Job } from "../src/domain/job.js";
import { StatusMessage } from "../src/domain/messages.js";
import { State, StatusCode } from "../src/domain/status.js";
import { runJobTaskId, TaskType } from "../src/domain/task.js";
import { buildApp } from "../src/http/app.js";
import { jobCreator } from "../src/jobs/index.js";
import { createImageDigests } from "../src/registry/index.js";
import { dbStatusRule } from "../src/scheduler/db-status.js";
import { jobDefinition, taskAttributes } from "../src/scheduler/definition.js";
import { Scheduler } from "../src/scheduler/scheduler.js";
import { writeDocsSection } from "./docs-section.js";
import {
  benchDialects,
  createBenchDatabase,
  DIALECT_NAMES,
  type Dialect,
  openBenchStorage,
  openMigrated,
} from "./postgres.js";
import { median } from "./stats.js";

const ROOT = resolve(import.meta.dirname, "..");
const BACKENDS = ["test", "tpp", "emis", "ted"] as const;
const WORKSPACES = 200;
const TOKEN = "bench-token";
/** Each backend's agent has its own token (the configuration refuses one token shared between backends). */
const agentToken = (backend: string) => `bench-agent-token-${backend}`;
/** The clock stands here for seeding and every pass: no heartbeat (a minute) ever falls due. */
const NOW_S = 1_760_000_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** Finished jobs beside the active ones in the pass cases, as a database in service has: a pass must not read them. */
const HISTORY = 50_000;

// ---------------------------------------------------------------------------------------------------------------
// Configuration and seeding

function config(maxWorkers: Record<string, number>): Config {
  const env: Record<string, string> = {
    BACKENDS: BACKENDS.join(","),
    RESOLVE_IMAGE_DIGESTS: "false",
    WORKDIR: join(tmpdir(), "rap-bench-scheduler-workdir"),
  };
  for (const backend of BACKENDS) {
    const prefix = backend.toUpperCase();
    env[`${prefix}_JOB_SERVER_TOKEN`] = agentToken(backend);
    env[`${prefix}_CLIENT_TOKENS`] = TOKEN;
    env[`${prefix}_MAX_WORKERS`] = String(maxWorkers[backend] ?? 100_000);
  }
  return loadConfig(env satisfies Env);
}

/** Job `i`: in workspace `i / 4 mod 200` (so consecutive jobs share one), on that workspace's backend. */
function benchJob(i: number, overrides: Partial<Job>): Job {
  const w = Math.floor(i / 4) % WORKSPACES;
  const rapId = `sched${String(w).padStart(11, "0")}`;
  const action = `action_${i}`;
  return {
    id: deterministicJobId(rapId, action),
    rapId,
    state: State.Pending,
    statusCode: StatusCode.Created,
    statusMessage: StatusMessage.Created,
    repoUrl: "https://github.com/opensafely/bench-study",
    commit: "0123456789abcdef0123456789abcdef01234567",
    branch: "main",
    workspace: `bench-workspace-${w}`,
    databaseName: "default",
    action,
    actionRepoUrl: null,
    actionCommit: null,
    requiresOutputsFrom: i >= 4 * WORKSPACES ? [`action_${i - 4 * WORKSPACES}`] : [],
    waitForJobIds: [],
    runCommand: `python:v2 analysis/step_${i}.py --output output/step_${i}.csv`,
    outputSpec: { moderately_sensitive: { table: `output/step_${i}.csv` } },
    cancelled: false,
    createdAt: NOW_S - 3600 + (i % 3600),
    updatedAt: NOW_S,
    startedAt: null,
    completedAt: null,
    statusCodeUpdatedAt: NOW_S * 1_000_000_000,
    traceContext: { traceparent: `00-${"0123456789abcdef".repeat(2)}-0123456789abcdef-01` },
    requiresDb: false,
    backend: BACKENDS[(Math.floor(i / 4) % WORKSPACES) % BACKENDS.length]!,
    user: "bench_user",
    project: "bench-project",
    orgs: ["bench-org"],
    analysisScope: {},
    ...overrides,
  };
}

/**
 * Steady state: of each four consecutive jobs (one workspace) two run, one waits on the first of them, one waits on
 * workers. Returns each backend's running jobs, which become its MAX_WORKERS.
 */
function steadyJobs(count: number): { jobs: Job[]; running: Record<string, number> } {
  const jobs: Job[] = [];
  const running: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    const role = i % 4;
    if (role < 2) {
      const job = benchJob(i, {
        state: State.Running,
        statusCode: StatusCode.Executing,
        statusMessage: StatusMessage.Initiated,
        startedAt: NOW_S - 60,
      });
      running[job.backend] = (running[job.backend] ?? 0) + 1;
      jobs.push(job);
    } else if (role === 2) {
      jobs.push(
        benchJob(i, {
          statusCode: StatusCode.WaitingOnDependencies,
          statusMessage: StatusMessage.WaitingOnDependencies,
          waitForJobIds: [jobs[i - 2]!.id],
        }),
      );
    } else {
      jobs.push(
        benchJob(i, {
          statusCode: StatusCode.WaitingOnWorkers,
          statusMessage: StatusMessage.WaitingOnWorkers,
        }),
      );
    }
  }
  return { jobs, running };
}

/** `HISTORY` succeeded jobs in the same workspaces, numbered after the `active` ones. */
function history(active: number): Job[] {
  return Array.from({ length: HISTORY }, (_, k) =>
    benchJob(active + k, {
      state: State.Succeeded,
      statusCode: StatusCode.Succeeded,
      statusMessage: StatusMessage.Succeeded,
      createdAt: NOW_S - 86_400 * 30,
      startedAt: NOW_S - 86_400 * 30,
      completedAt: NOW_S - 86_400 * 29,
      updatedAt: NOW_S - 86_400 * 29,
    }),
  );
}

/** Inserts the jobs, and for each running one an active RUNJOB task whose agent reported `executing`. */
async function seed(
  location: DatabaseLocation,
  jobs: readonly Job[],
  settings: Config,
  past: readonly Job[] = [],
): Promise<void> {
  const db = await openMigrated(location);
  try {
    await db.transaction().execute(async (trx) => {
      await insertJobs(trx as Db, past);
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
        await recordAgentUpdate(
          trx as Db,
          job.backend,
          taskId,
          { stage: StatusCode.Executing, results: {}, complete: false, timestampNs: (NOW_S - 30) * 1e9 },
          NOW_S - 30,
        );
      }
    });
  } finally {
    await db.destroy();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Counting statements: every statement the driver runs (better-sqlite3's, or pg's clients'), whoever prepared it.

interface StatementCounts {
  reads: number;
  writes: number;
  transactions: number;
}

function countVerb(counts: StatementCounts, sqlText: string): void {
  const verb = sqlText.trimStart().split(/\s/, 1)[0]!.toLowerCase();
  if (verb === "select" || verb === "with" || verb === "pragma") counts.reads += 1;
  else if (verb === "begin" || verb === "commit" || verb === "rollback") counts.transactions += 1;
  else counts.writes += 1;
}

/** Wraps `methods` of `prototype` so each call counts the statement `textOf` finds; `stop()` unwraps them. */
function wrapCounting(
  prototype: Record<string, unknown>,
  methods: readonly string[],
  textOf: (self: unknown, args: unknown[]) => string,
): { counts: StatementCounts; stop(): void } {
  const counts: StatementCounts = { reads: 0, writes: 0, transactions: 0 };
  const originals = new Map<string, unknown>();
  for (const method of methods) {
    const original = prototype[method] as (this: unknown, ...args: unknown[]) => unknown;
    originals.set(method, original);
    prototype[method] = function (this: unknown, ...args: unknown[]) {
      countVerb(counts, textOf(this, args));
      return original.apply(this, args);
    };
  }
  return {
    counts,
    stop: () => {
      for (const [method, original] of originals) prototype[method] = original;
    },
  };
}

function countStatements(dialect: Dialect): { counts: StatementCounts; stop(): void } {
  if (dialect === "postgres")
    return wrapCounting(
      pg.Client.prototype as unknown as Record<string, unknown>,
      ["query"],
      (_self, args) => {
        const query = args[0] as string | { text: string };
        return typeof query === "string" ? query : query.text;
      },
    );
  const probe = new SqliteDatabase(":memory:");
  const prototype = Object.getPrototypeOf(probe.prepare("select 1")) as Record<string, unknown>;
  probe.close();
  return wrapCounting(
    prototype,
    ["all", "get", "run", "iterate"],
    (self) => (self as SqliteDatabase.Statement).source,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Measures

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const silent = {
  level: "silent",
  error() {},
  warn() {},
  info() {},
  debug() {},
  trace() {},
  fatal() {},
  child() {
    return silent;
  },
} as unknown as import("pino").Logger;

async function openScheduler(location: DatabaseLocation, settings: Config) {
  const { storage } = await openBenchStorage(location);
  const digests = createImageDigests({
    registry: settings.scheduler.dockerRegistry,
    enabled: settings.scheduler.resolveImageDigests,
    timeoutMs: settings.scheduler.imageDigestTimeoutMs,
    ttlMs: settings.scheduler.imageDigestTtlMs,
    log: silent,
  });
  const clock = new ManualClock(NOW_S * 1000);
  const scheduler = new Scheduler({ storage, config: settings, clock, digests, log: silent });
  return { scheduler, storage, close: () => storage.close() };
}

/**
 * CPU time of this process (user + system), ms. On a shared machine a pass waits for a core as often as it runs:
 * its CPU time says what it costs, its wall time what it took.
 */
function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** Median time of one plain SELECT of the rows (`?` parameters), on its own connection. */
async function plainSelectMs(
  location: DatabaseLocation,
  sqlText: string,
  parameters: unknown[],
  runs: number,
): Promise<number> {
  const times: number[] = [];
  if (location.dialect === "postgres") {
    const client = new pg.Client({ connectionString: location.url });
    await client.connect();
    try {
      let n = 0;
      const query = { name: "plain", text: sqlText.replace(/\?/g, () => `$${++n}`), values: parameters };
      await client.query(query);
      for (let i = 0; i < runs; i++) {
        const started = performance.now();
        await client.query(query);
        times.push(performance.now() - started);
      }
    } finally {
      await client.end();
    }
    return median(times);
  }
  const db = new SqliteDatabase(location.path, { readonly: true });
  try {
    const statement = db.prepare(sqlText);
    statement.all(...parameters);
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      statement.all(...parameters);
      times.push(performance.now() - started);
    }
    return median(times);
  } finally {
    db.close();
  }
}

const ACTIVE_JOBS_SQL =
  "select * from job where state not in ('failed', 'succeeded') and state in ('pending', 'running')";

interface SteadyResult {
  database: Dialect;
  jobs: number;
  medianMs: number;
  /** Median CPU time of the pass. */
  cpuMs: number;
  minMs: number;
  baselineMs: number;
  statements: StatementCounts;
  /** The pass after one running job's agent reported (its task written): the jobs it affects are handled. */
  afterReport: { medianMs: number; cpuMs: number; minMs: number };
}

async function steadyPass(dir: string, dialect: Dialect, count: number): Promise<SteadyResult> {
  const database = await createBenchDatabase(dialect, dir, `steady-${count}`);
  const { jobs, running } = steadyJobs(count);
  const settings = config(running);
  await seed(database.location, jobs, settings, history(count));
  const { scheduler, storage, close } = await openScheduler(database.location, settings);
  try {
    // The first pass creates the scheduled DBSTATUS/DBDATACHECK tasks (tpp); from then on nothing changes.
    await scheduler.tick();
    const counter = countStatements(dialect);
    const counted = await scheduler.tick();
    counter.stop();
    if (counted.changed !== 0 || counted.failed !== 0 || counted.jobs !== count)
      throw new Error(`steady ${count}: the pass was not steady (${JSON.stringify(counted)})`);
    const runs = count >= 10_000 ? 9 : 25;
    /** Times `runs` passes, each after `before(i)`; each pass must change nothing. */
    const timedPasses = async (before: (i: number) => Promise<void>) => {
      const times: number[] = [];
      const cpu: number[] = [];
      for (let i = 0; i < runs; i++) {
        await before(i);
        const started = performance.now();
        const cpuStarted = cpuMs();
        const report = await scheduler.tick();
        cpu.push(cpuMs() - cpuStarted);
        times.push(performance.now() - started);
        if (report.changed !== 0 || report.failed !== 0)
          throw new Error(`steady ${count}: a pass changed a job (${JSON.stringify(report)})`);
      }
      return { medianMs: median(times), cpuMs: median(cpu), minMs: Math.min(...times) };
    };
    const steady = await timedPasses(async () => {});
    // Each pass after one running job's agent reported `executing` again (its task is written, nothing changes).
    const runningJobs = jobs.filter((job) => job.state === State.Running);
    const afterReport = await timedPasses(async (i) => {
      const job = runningJobs[(i * 7919) % runningJobs.length]!;
      const update = { stage: "executing", results: {}, complete: false, timestampNs: (NOW_S + i) * 1e9 };
      await storage.tasks.recordAgentUpdate(job.backend, runJobTaskId(job.id, 1), update, NOW_S);
    });
    return {
      database: dialect,
      jobs: count,
      ...steady,
      baselineMs: await plainSelectMs(database.location, ACTIVE_JOBS_SQL, [], runs),
      statements: counter.counts,
      afterReport,
    };
  } finally {
    await close();
    await database.drop();
  }
}

interface StartResult {
  database: Dialect;
  jobs: number;
  medianMs: number;
  /** Median CPU time of the pass. */
  cpuMs: number;
  minMs: number;
  /** None on PostgreSQL. */
  baselineMs: number | null;
  statements: StatementCounts;
}

/** The least a start of these jobs writes: a task row and a job status per job, plain statements, one transaction. */
function plainStartMs(path: string, jobs: readonly Job[], settings: Config): number {
  const db = new SqliteDatabase(path);
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    const insert = db.prepare(
      "insert into tasks (id, backend, type, job_id, definition, attributes, active, created_at, agent_complete) values (?, ?, ?, ?, ?, ?, 1, ?, 0)",
    );
    const update = db.prepare(
      "update job set state = 'running', status_code = 'initiated', status_message = ?, updated_at = ?, started_at = ?, status_code_updated_at = ? where id = ? and status_code = 'created'",
    );
    const started = performance.now();
    db.transaction(() => {
      for (const job of jobs) {
        const taskId = runJobTaskId(job.id, 1);
        const definition = jobDefinition(job, settings.scheduler, {
          taskId,
          imageSha: null,
          inputJobIds: [],
        });
        insert.run(
          taskId,
          job.backend,
          TaskType.RunJob,
          job.id,
          JSON.stringify(definition),
          JSON.stringify(taskAttributes(job)),
          NOW_S,
        );
        update.run(StatusMessage.Initiated, NOW_S, NOW_S, NOW_S * 1e9, job.id);
      }
    })();
    return performance.now() - started;
  } finally {
    db.close();
  }
}

async function startPass(dir: string, dialect: Dialect, count: number): Promise<StartResult> {
  const template = await createBenchDatabase(dialect, dir, `start-${count}`);
  const jobs = Array.from({ length: count }, (_, i) => benchJob(i, {}));
  const settings = config({});
  await seed(template.location, jobs, settings, history(count));
  const times: number[] = [];
  const cpu: number[] = [];
  const baselines: number[] = [];
  let statements: StatementCounts | undefined;
  for (let round = 0; round < ROUNDS; round++) {
    const copy = await createBenchDatabase(dialect, dir, `start-${count}-${round}`, template);
    const { scheduler, close } = await openScheduler(copy.location, settings);
    try {
      // Counted in the first round only: counting wraps every statement, which the timing should not pay.
      const counter = round === 0 ? countStatements(dialect) : undefined;
      const started = performance.now();
      const cpuStarted = cpuMs();
      const report = await scheduler.tick();
      cpu.push(cpuMs() - cpuStarted);
      times.push(performance.now() - started);
      counter?.stop();
      if (counter) statements = counter.counts;
      if (report.changed !== count || report.failed !== 0)
        throw new Error(`start ${count}: ${JSON.stringify(report)}`);
    } finally {
      await close();
      await copy.drop();
    }
    if (template.location.dialect === "sqlite") {
      const plain = await createBenchDatabase(dialect, dir, `plain-${count}-${round}`, template);
      baselines.push(plainStartMs((plain.location as { path: string }).path, jobs, settings));
      await plain.drop();
    }
  }
  await template.drop();
  return {
    database: dialect,
    jobs: count,
    medianMs: median(times),
    cpuMs: median(cpu),
    minMs: Math.min(...times),
    baselineMs: baselines.length > 0 ? median(baselines) : null,
    statements: statements!,
  };
}

interface TasksResult {
  database: Dialect;
  tasks: number;
  bodyBytes: number;
  medianMs: number;
  p99Ms: number;
  samples: number;
  baselineMs: number;
}

const ACTIVE_TASKS_SQL =
  "select id, backend, type, definition, attributes, created_at from tasks where backend = ? and active = 1";

/** `GET /tpp/tasks/` with `count` active tasks, over loopback from this process, one request at a time. */
async function serveTasks(dir: string, dialect: Dialect, count: number): Promise<TasksResult> {
  const database = await createBenchDatabase(dialect, dir, `tasks-${count}`);
  const jobs = Array.from({ length: count }, (_, i) =>
    benchJob(i, {
      backend: "tpp",
      state: State.Running,
      statusCode: StatusCode.Executing,
      statusMessage: StatusMessage.Initiated,
      startedAt: NOW_S - 60,
    }),
  );
  const settings = config({});
  await seed(database.location, jobs, settings);
  const { storage } = await openBenchStorage(database.location);
  const app = await buildApp({
    config: settings,
    storage,
    statusReader: storage.status,
    createJobs: jobCreator(storage, settings, new ManualClock(NOW_S * 1000)),
    dbStatusReported: dbStatusRule(new ManualClock(NOW_S * 1000)),
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    await app.listen({ host: "127.0.0.1", port: 0 });
    const port = (app.server.address() as { port: number }).port;
    const get = () =>
      new Promise<{ status: number; bytes: number }>((done, fail) => {
        const req = request(
          {
            host: "127.0.0.1",
            port,
            path: "/tpp/tasks/",
            agent,
            headers: { authorization: agentToken("tpp") },
          },
          (res) => {
            let bytes = 0;
            res.on("data", (chunk: Buffer) => (bytes += chunk.length));
            res.on("end", () => done({ status: res.statusCode ?? 0, bytes }));
          },
        );
        req.on("error", fail);
        req.end();
      });
    const first = await get();
    if (first.status !== 200) throw new Error(`GET /tpp/tasks/ answered ${first.status}`);
    for (let i = 0; i < 20; i++) await get();
    const samples: number[] = [];
    const until = performance.now() + 3000;
    while (performance.now() < until) {
      const started = performance.now();
      await get();
      samples.push(performance.now() - started);
    }
    return {
      database: dialect,
      tasks: count,
      bodyBytes: first.bytes,
      medianMs: median(samples),
      p99Ms: percentile(samples, 99),
      samples: samples.length,
      baselineMs: await plainSelectMs(database.location, ACTIVE_TASKS_SQL, ["tpp"], 200),
    };
  } finally {
    agent.destroy();
    await app.close();
    await storage.close();
    await database.drop();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Report

const REFERENCE = {
  steady: { 100: "", 1000: "0.18 s", 10000: "17–30 s" } as Record<number, string>,
  start: { 1000: "14 s", 10000: "26 min" } as Record<number, string>,
  tasks: "92 ms",
};
const GOAL = {
  steady: { 100: "", 1000: "< 10 ms", 10000: "< 100 ms; PostgreSQL < 200 ms" } as Record<number, string>,
  start: { 1000: "", 10000: "< 5 s" } as Record<number, string>,
  tasks: "< 5 ms",
};

function ms(value: number): string {
  if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
  if (value >= 10) return `${value.toFixed(0)} ms`;
  return `${value.toFixed(2)} ms`;
}

/** One case on one database, as the table shows it. */
interface Line {
  name: string;
  database: Dialect;
  medianMs: number;
  cpu: string;
  min: string;
  baselineMs: number | null;
  reference: string;
  goal: string;
}

function lines(steady: SteadyResult[], start: StartResult[], tasks: TasksResult[]): Line[] {
  const pass = (name: string, r: SteadyResult | StartResult, reference: string, goal: string): Line => ({
    name,
    database: r.database,
    medianMs: r.medianMs,
    cpu: ms(r.cpuMs),
    min: ms(r.minMs),
    baselineMs: r.baselineMs,
    reference,
    goal,
  });
  return [
    ...steady.map((r) =>
      pass(
        `steady pass, ${r.jobs.toLocaleString("en")} active jobs`,
        r,
        REFERENCE.steady[r.jobs] ?? "",
        GOAL.steady[r.jobs] ?? "",
      ),
    ),
    ...steady.map((r) =>
      pass(
        `pass after one agent report, ${r.jobs.toLocaleString("en")} active jobs`,
        { ...r, ...r.afterReport },
        "",
        "",
      ),
    ),
    ...start.map((r) =>
      pass(
        `pass starting ${r.jobs.toLocaleString("en")} jobs`,
        r,
        REFERENCE.start[r.jobs] ?? "",
        GOAL.start[r.jobs] ?? "",
      ),
    ),
    ...tasks.map((r) => ({
      name: `GET /tpp/tasks/, ${r.tasks.toLocaleString("en")} active tasks (${Math.round(r.bodyBytes / 1000)} kB)`,
      database: r.database,
      medianMs: r.medianMs,
      cpu: "",
      min: `p99 ${ms(r.p99Ms)}`,
      baselineMs: r.baselineMs,
      reference: REFERENCE.tasks,
      goal: GOAL.tasks,
    })),
  ];
}

/** One row per case, each database's figures side by side, and PostgreSQL's median over SQLite's. */
function table(all: Line[], dialects: readonly Dialect[]): string {
  const names = dialects.map((d) => DIALECT_NAMES[d]);
  const per = (label: string) => names.map((n) => `${label}, ${n}`);
  const both = dialects.length > 1;
  const header = [
    "case",
    ...per("median"),
    ...(both ? ["PostgreSQL ÷ SQLite"] : []),
    ...per("CPU"),
    ...per("min"),
    ...per("baseline"),
    ...per("× baseline"),
    "reference",
    "goal",
  ];
  const rows = [
    `| ${header.join(" | ")} |`,
    `|---|${header
      .slice(1)
      .map(() => "---:")
      .join("|")}|`,
  ];
  for (const name of [...new Set(all.map((l) => l.name))]) {
    const of = dialects.map((d) => all.find((l) => l.name === name && l.database === d)!);
    rows.push(
      `| ${[
        name,
        ...of.map((l) => ms(l.medianMs)),
        ...(both ? [(of[1]!.medianMs / of[0]!.medianMs).toFixed(2)] : []),
        ...of.map((l) => l.cpu),
        ...of.map((l) => l.min),
        ...of.map((l) => (l.baselineMs === null ? "—" : ms(l.baselineMs))),
        ...of.map((l) => (l.baselineMs === null ? "—" : (l.medianMs / l.baselineMs).toFixed(1))),
        of[0]!.reference,
        of[0]!.goal,
      ].join(" | ")} |`,
    );
  }
  return rows.join("\n");
}

function statementTable(steady: SteadyResult[], start: StartResult[], dialects: readonly Dialect[]): string {
  const header = [
    "pass",
    "jobs",
    ...dialects.map((d) => `${DIALECT_NAMES[d]}: reads / writes / BEGIN, COMMIT`),
  ];
  const rows = [
    `| ${header.join(" | ")} |`,
    `|---|${header
      .slice(1)
      .map(() => "---:")
      .join("|")}|`,
  ];
  const add = (name: string, results: (SteadyResult | StartResult)[]) => {
    for (const jobs of [...new Set(results.map((r) => r.jobs))]) {
      const counts = dialects.map(
        (d) => results.find((r) => r.jobs === jobs && r.database === d)!.statements,
      );
      rows.push(
        `| ${name} | ${jobs.toLocaleString("en")} | ${counts.map((c) => `${c.reads} / ${c.writes} / ${c.transactions}`).join(" | ")} |`,
      );
    }
  };
  add("steady", steady);
  add("starting every job", start);
  return rows.join("\n");
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "rap-bench-scheduler-"));
  const only = process.env.BENCH_ONLY;
  const dialects = benchDialects();
  const loadAtStart = loadavg()[0]!;
  try {
    const steady: SteadyResult[] = [];
    const start: StartResult[] = [];
    const tasks: TasksResult[] = [];
    if (!only || only === "steady")
      for (const count of [100, 1000, 10_000])
        for (const dialect of dialects) {
          console.log(`steady pass: ${count} active jobs, ${DIALECT_NAMES[dialect]}`);
          steady.push(await steadyPass(dir, dialect, count));
          console.log(JSON.stringify(steady.at(-1)));
        }
    if (!only || only === "start")
      for (const count of [1000, 10_000])
        for (const dialect of dialects) {
          console.log(`starting ${count} jobs (${ROUNDS} rounds), ${DIALECT_NAMES[dialect]}`);
          start.push(await startPass(dir, dialect, count));
          console.log(JSON.stringify(start.at(-1)));
        }
    if (only) return;
    for (const dialect of dialects) {
      console.log(`GET /tpp/tasks/ with 1,000 active tasks, ${DIALECT_NAMES[dialect]}`);
      tasks.push(await serveTasks(dir, dialect, 1000));
    }
    const loadAtEnd = loadavg()[0]!;

    const machine = `${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}`;
    const date = new Date().toISOString().slice(0, 10);
    const rendered = table(lines(steady, start, tasks), dialects);
    const statements = statementTable(steady, start, dialects);
    console.log(`\n${rendered}\n\nSQL statements per pass:\n\n${statements}\n\n(${machine})`);

    mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
    writeFileSync(
      join(ROOT, "bench", "results", "scheduler.json"),
      `${JSON.stringify({ date, machine, rounds: ROUNDS, loadAtStart, loadAtEnd, steady, start, tasks }, null, 2)}\n`,
    );
    const databases =
      dialects.length > 1
        ? "an SQLite file and a local PostgreSQL server (same run, each case on both in turn)"
        : "an SQLite file database (PostgreSQL skipped: no server named)";
    writeDocsSection(
      "bench:scheduler",
      "Scheduler",
      [
        `Measured by \`npm run bench:scheduler\` on ${date}, ${machine}; ${databases}, the scheduler in`,
        "process with a clock that stands still. Steady pass: half the jobs running (an active RUNJOB task, the agent",
        "reported `executing`), a quarter waiting on a running dependency, a quarter on workers; 4 backends, 200",
        `workspaces (25 for 100 jobs), and ${HISTORY.toLocaleString("en")} finished jobs in the table; median of 25 passes (9 for 10,000).`,
        `Start: every job pending, unlimited workers, digests off, the same history; median of ${ROUNDS} passes each`,
        "on a fresh copy. Tasks: one client over loopback for 3 s. Baselines: one plain SELECT of the same rows on its",
        "own connection (better-sqlite3, or `pg`), and for the start pass on SQLite the same rows written with plain",
        "prepared statements in one transaction (none on PostgreSQL). CPU: this process's CPU time during the pass,",
        "which waiting for a core does not inflate (PostgreSQL's own CPU is in its server processes, not counted).",
        `Load average: ${loadAtStart.toFixed(1)} when the run began, ${loadAtEnd.toFixed(1)} when it ended (on ${cpus().length} cores).`,
        "",
        rendered,
        "",
        "SQL statements one pass runs (every statement on the connection):",
        "",
        statements,
      ].join("\n"),
    );
  } finally {
    if (process.env.BENCH_KEEP) console.log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

await main();
