/**
 * `npm run bench:api`: requests/s and latency of `GET backend/status/` and `POST rap/status/` on loopback, beside a
 * bare node:http server answering a same-sized body (the ceiling on this machine).
 *
 * Each server runs in its own process (forked from this file) so the load generator does not share its CPU; the
 * database is an SQLite file seeded beforehand. Per case: autocannon for 5 s with 10 connections (throughput, and
 * latency under that load), then one client sending requests one after another for 3 s (latency of a single
 * request, timed to the microsecond: autocannon counts whole milliseconds). Everything runs ROUNDS times, servers
 * restarted each round, and the table shows medians: a shared machine is noisy. Prints the table, saves the raw
 * results under bench/results/ and rewrites the "## RAP API" section of docs/benchmarks.md.
 */
import { type ChildProcess, fork } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, createServer, request } from "node:http";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import autocannon from "autocannon";
import { type Env, loadConfig } from "../src/config/index.js";
import { type Db, openDatabase } from "../src/db/index.js";
import { setFlag } from "../src/db/queries/flags.js";
import { insertJobs } from "../src/db/queries/jobs.js";
import { insertTask, recordAgentUpdate } from "../src/db/queries/tasks.js";
import { SqliteStorage } from "../src/db/sqlite-storage.js";
import { systemClock } from "../src/domain/clock.js";
import { deterministicJobId } from "../src/domain/ids.js";
import type { Job } from "../src/domain/job.js";
import { runJobTaskId } from "../src/domain/task.js";
import { buildApp } from "../src/http/app.js";
import { jobCreator } from "../src/jobs/index.js";
import { dbStatusRule } from "../src/scheduler/db-status.js";
import { writeDocsSection } from "./docs-section.js";

const ROOT = resolve(import.meta.dirname, "..");
const TOKEN = "bench-token";
const ENV: Env = {
  BACKENDS: "test,tpp,emis,ted",
  TEST_CLIENT_TOKENS: TOKEN,
  TPP_CLIENT_TOKENS: TOKEN,
  EMIS_CLIENT_TOKENS: TOKEN,
  TED_CLIENT_TOKENS: TOKEN,
};
const THROUGHPUT_SECONDS = 5;
const LATENCY_SECONDS = 3;
const CONNECTIONS = 10;
const ROUNDS = 3;

// ---------------------------------------------------------------------------------------------------------------
// Server side (a forked child process)

type ServerKind = { kind: "bare"; body: string } | { kind: "app"; database: string };

async function serve(spec: ServerKind): Promise<void> {
  let port: number;
  if (spec.kind === "bare") {
    const server = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json; charset=utf-8" });
      res.end(spec.body);
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    port = (server.address() as { port: number }).port;
  } else {
    const config = loadConfig(ENV);
    const db = await openDatabase({ dialect: "sqlite", path: spec.database });
    const storage = new SqliteStorage(db, { statusWorkers: Math.min(4, availableParallelism()) });
    const app = await buildApp({
      config,
      storage,
      statusReader: storage.status,
      createJobs: jobCreator(storage, config, systemClock),
      dbStatusReported: dbStatusRule(systemClock),
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    port = (app.server.address() as { port: number }).port;
  }
  process.send!({ port });
}

// ---------------------------------------------------------------------------------------------------------------
// Seeding

const BASE_TIME = 1_740_000_000;

function benchJob(rapId: string, n: number): Job {
  const action = `action_${n}`;
  const finished = n % 3 !== 0;
  return {
    id: deterministicJobId(rapId, action),
    rapId,
    state: finished ? "succeeded" : "running",
    statusCode: finished ? "succeeded" : "executing",
    statusMessage: finished ? "Completed successfully" : "Job executing on the backend",
    repoUrl: "https://github.com/opensafely/bench-study",
    commit: "0123456789abcdef0123456789abcdef01234567",
    branch: "main",
    workspace: "bench-study",
    databaseName: "default",
    action,
    actionRepoUrl: null,
    actionCommit: null,
    requiresOutputsFrom: n === 0 ? [] : ["action_0"],
    waitForJobIds: [],
    runCommand: `python:v2 analysis/step_${n}.py --output output/step_${n}.csv`,
    outputSpec: { moderately_sensitive: { out: `output/step_${n}.csv` } },
    cancelled: false,
    createdAt: BASE_TIME + n,
    updatedAt: BASE_TIME + 100 + n,
    startedAt: BASE_TIME + 10 + n,
    completedAt: finished ? BASE_TIME + 100 + n : null,
    statusCodeUpdatedAt: (BASE_TIME + 100 + n) * 1_000_000_000,
    traceContext: { traceparent: `00-${"0123456789abcdef".repeat(2)}-0123456789abcdef-01` },
    requiresDb: n === 0,
    backend: "tpp",
    user: "bench_user",
    project: "bench-project",
    orgs: ["bench-org"],
    analysisScope: {},
  };
}

function rapIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `bench${String(i).padStart(11, "0")}`);
}

/** `raps` RAPs of `perRap` jobs on backend tpp, each job with a RUNJOB task whose results carry job_metrics. */
async function seed(path: string, raps: number, perRap: number): Promise<void> {
  const db = await openDatabase({ dialect: "sqlite", path }, { migrate: true });
  try {
    const jobs = rapIds(raps).flatMap((rapId) =>
      Array.from({ length: perRap }, (_, n) => benchJob(rapId, n)),
    );
    await db.transaction().execute(async (trx) => {
      await insertJobs(trx as Db, jobs);
      for (const job of jobs) {
        const id = runJobTaskId(job.id, 1);
        await insertTask(trx as Db, {
          id,
          backend: job.backend,
          type: "runjob",
          jobId: job.id,
          definition: { job_id: job.id, action: job.action },
          attributes: { user: job.user, project: job.project, orgs: job.orgs.join(",") },
          createdAt: job.startedAt!,
        });
        const results = {
          exit_code: 0,
          status_message: "Completed successfully",
          timestamp_ns: job.updatedAt * 1_000_000_000,
          has_unmatched_patterns: false,
          has_level4_excluded_files: false,
          error: false,
          job_metrics: { cpu_peak: 98.5, cpu_mean: 42.25, mem_mb_peak: 1536, mem_mb_mean: 812.5 },
        };
        await recordAgentUpdate(
          trx as Db,
          job.backend,
          id,
          { stage: "finalized", results, complete: job.state === "succeeded", timestampNs: null },
          job.updatedAt,
        );
      }
    });
    for (const backend of ["test", "tpp", "emis", "ted"]) {
      await setFlag(db, backend, "last-seen-at", "2025-08-12T11:30:45+00:00", BASE_TIME + 0.25);
    }
    await setFlag(db, "tpp", "mode", "db-maintenance", BASE_TIME + 0.5);
    await setFlag(db, "emis", "paused", "true", BASE_TIME + 0.75);
  } finally {
    await db.destroy();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Load side

interface Target {
  port: number;
  child: ChildProcess;
}

async function start(spec: ServerKind): Promise<Target> {
  const child = fork(import.meta.filename, ["serve", JSON.stringify(spec)], { execArgv: process.execArgv });
  const port = await new Promise<number>((done, fail) => {
    child.once("message", (message) => done((message as { port: number }).port));
    child.once("exit", (code) => fail(new Error(`server exited with ${code}`)));
  });
  return { port, child };
}

async function stop(target: Target): Promise<void> {
  const exited = new Promise((done) => target.child.once("exit", done));
  target.child.kill("SIGTERM");
  await exited;
}

interface Case {
  name: string;
  method: "GET" | "POST";
  path: string;
  body?: string;
  /** Jobs in each answer (rap/status cases). */
  jobs?: number;
}

interface Measured {
  case: string;
  jobs: number | null;
  bodyBytes: number;
  requestsPerSecond: number;
  loadP50Ms: number;
  loadP99Ms: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencySamples: number;
  errors: number;
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function once(port: number, c: Case): Promise<{ status: number; bytes: number }> {
  return new Promise((done, fail) => {
    const req = request(
      { host: "127.0.0.1", port, method: c.method, path: c.path, agent, headers: { authorization: TOKEN } },
      (res) => {
        let bytes = 0;
        res.on("data", (chunk: Buffer) => (bytes += chunk.length));
        res.on("end", () => done({ status: res.statusCode ?? 0, bytes }));
      },
    );
    req.on("error", fail);
    req.end(c.body);
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function measure(port: number, c: Case): Promise<Measured> {
  const first = await once(port, c);
  if (first.status !== 200) throw new Error(`${c.name}: answered ${first.status}`);
  for (let i = 0; i < 20; i++) await once(port, c); // warm up

  const load = await autocannon({
    url: `http://127.0.0.1:${port}${c.path}`,
    method: c.method,
    headers: { authorization: TOKEN },
    body: c.body,
    connections: CONNECTIONS,
    duration: THROUGHPUT_SECONDS,
  });

  const samples: number[] = [];
  const until = performance.now() + LATENCY_SECONDS * 1000;
  while (performance.now() < until) {
    const started = performance.now();
    await once(port, c);
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);

  return {
    case: c.name,
    jobs: c.jobs ?? null,
    bodyBytes: first.bytes,
    requestsPerSecond: Math.round(load.requests.average),
    loadP50Ms: load.latency.p50,
    loadP99Ms: load.latency.p99,
    latencyP50Ms: Number(percentile(samples, 50).toFixed(3)),
    latencyP99Ms: Number(percentile(samples, 99).toFixed(3)),
    latencySamples: samples.length,
    errors: load.errors + load.non2xx + load.timeouts,
  };
}

function statusCase(name: string, raps: number, perRap: number): Case {
  return {
    name,
    method: "POST",
    path: "/controller/v1/rap/status/",
    body: JSON.stringify({ rap_ids: rapIds(raps) }),
    jobs: raps * perRap,
  };
}

function table(results: Measured[]): string {
  const lines = [
    "| case | jobs | body | req/s (10 conns) | p50 / p99 under load | one client p50 / p99 |",
    "|---|---:|---:|---:|---:|---:|",
  ];
  for (const r of results) {
    const size = r.bodyBytes >= 10_000 ? `${Math.round(r.bodyBytes / 1000)} kB` : `${r.bodyBytes} B`;
    lines.push(
      `| ${r.case} | ${r.jobs ?? ""} | ${size} | ${r.requestsPerSecond.toLocaleString("en")} | ` +
        `${r.loadP50Ms} / ${r.loadP99Ms} ms | ${r.latencyP50Ms} / ${r.latencyP99Ms} ms |`,
    );
  }
  return lines.join("\n");
}

const BACKEND_STATUS: Case = {
  name: "GET backend/status/ (4 backends)",
  method: "GET",
  path: "/controller/v1/backend/status/",
};

/** One round: every case against freshly started servers. */
async function round(small: string, large: string): Promise<Measured[]> {
  const results: Measured[] = [];
  let target = await start({ kind: "app", database: small });
  const sample = await once(target.port, BACKEND_STATUS);
  results.push(await measure(target.port, BACKEND_STATUS));
  results.push(await measure(target.port, statusCase("POST rap/status/, 10 RAPs × 2 jobs", 10, 2)));
  await stop(target);

  target = await start({ kind: "app", database: large });
  results.push(
    await measure(target.port, statusCase("POST rap/status/, 100 of 1,000 RAPs × 10 jobs", 100, 10)),
  );
  results.push(await measure(target.port, statusCase("POST rap/status/, 1,000 RAPs × 10 jobs", 1000, 10)));
  await stop(target);

  // The ceiling: node:http answering a body as large as backend/status's, with nothing else to do.
  target = await start({ kind: "bare", body: "x".repeat(sample.bytes) });
  results.push(
    await measure(target.port, { name: "bare node:http, same-sized body", method: "GET", path: "/" }),
  );
  await stop(target);
  return results;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Per case, the median of each measure over the rounds. */
function medians(rounds: Measured[][]): Measured[] {
  return rounds[0]!.map((first, i) => {
    const all = rounds.map((r) => r[i]!);
    const mid = (pick: (m: Measured) => number) => median(all.map(pick));
    return {
      ...first,
      requestsPerSecond: mid((m) => m.requestsPerSecond),
      loadP50Ms: mid((m) => m.loadP50Ms),
      loadP99Ms: mid((m) => m.loadP99Ms),
      latencyP50Ms: mid((m) => m.latencyP50Ms),
      latencyP99Ms: mid((m) => m.latencyP99Ms),
      latencySamples: mid((m) => m.latencySamples),
      errors: Math.max(...all.map((m) => m.errors)),
    };
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "rap-bench-api-"));
  const rounds: Measured[][] = [];
  try {
    const small = join(dir, "small.sqlite");
    const large = join(dir, "large.sqlite");
    console.log(
      "seeding: 10 RAPs × 2 jobs, and 1,000 RAPs × 10 jobs (each job with a RUNJOB task and metrics)",
    );
    await seed(small, 10, 2);
    await seed(large, 1000, 10);
    for (let i = 1; i <= ROUNDS; i++) {
      console.log(`round ${i} of ${ROUNDS}`);
      rounds.push(await round(small, large));
    }
  } finally {
    agent.destroy();
    rmSync(dir, { recursive: true, force: true });
  }

  const results = medians(rounds);
  // The ratio is taken within each round (same conditions), then its median.
  const ratios = rounds.map(
    (r) => r[0]!.requestsPerSecond / r.find((m) => m.case.startsWith("bare"))!.requestsPerSecond,
  );
  const ratio = median(ratios).toFixed(2);
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}`;
  const date = new Date().toISOString().slice(0, 10);
  const rendered = table(results);
  console.log(
    `\n${rendered}\n\nbackend/status/ at ${ratio} of the bare node:http rate (median of ${ROUNDS} rounds; ${machine})`,
  );

  const resultsDir = join(ROOT, "bench", "results");
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(
    join(resultsDir, `api-${new Date().toISOString().replace(/[:.]/g, "-")}.json`),
    `${JSON.stringify({ date, machine, ratios, medians: results, rounds }, null, 2)}\n`,
  );

  writeDocsSection(
    "bench:api",
    "RAP API",
    [
      `Measured by \`npm run bench:api\` on ${date}, ${machine}; loopback, each server in its own process, SQLite`,
      "file database. Throughput: autocannon, 10 connections, 5 s (its latencies are whole milliseconds). One client:",
      "requests one after another for 3 s, timed to the microsecond. rap/status/ cases ask for that many RAPs out of",
      "a database of 10 RAPs × 2 jobs or 1,000 RAPs × 10 jobs, every job with a RUNJOB task carrying metrics.",
      `Medians of ${ROUNDS} rounds (the machine is shared, so single runs vary by up to a factor of two).`,
      "",
      rendered,
      "",
      `backend/status/ runs at ${ratio} of the bare node:http rate (median of the per-round ratios: ${ratios.map((r) => r.toFixed(2)).join(", ")}).`,
    ].join("\n"),
  );
}

if (process.argv[2] === "serve") await serve(JSON.parse(process.argv[3]!) as ServerKind);
else await main();
