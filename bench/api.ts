/**
 * `npm run bench:api`: requests/s and latency of `GET backend/status/` and `POST rap/status/` on loopback, beside a
 * bare node:http server answering a same-sized body (the ceiling on this machine). backend/status/ is measured
 * twice: alone, and while 10 agents poll `GET /{backend}/tasks/` once a second each (every poll writes the backend's
 * last-seen-at flag, which backend/status/ reads).
 *
 * Each server runs in its own process (forked from this file) so the load generator does not share its CPU; the
 * database is an SQLite file seeded beforehand and, when a server is named (bench/postgres.ts), a PostgreSQL
 * database seeded the same way: every case runs on both in each round. Per case: autocannon for 5 s with 10 connections (throughput, and
 * latency under that load), then one client sending requests one after another for 3 s (latency of a single
 * request, timed to the microsecond: autocannon counts whole milliseconds). Everything runs ROUNDS times, servers
 * restarted each round, and the table shows medians: a shared machine is noisy. Prints the table, saves the raw
 * results under bench/results/ and rewrites the "## RAP API" section of docs/benchmarks.md.
 */
import { type ChildProcess, fork } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, createServer, request } from "node:http";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import autocannon from "autocannon";
import { type DatabaseLocation, type Env, loadConfig } from "../src/config/index.js";
import { openStorage } from "../src/db/open.js";
import { appOnStorage } from "../test/http/support.js";
import { writeDocsSection } from "./docs-section.js";
import {
  type BenchDatabase,
  benchDialects,
  createBenchDatabase,
  DIALECT_NAMES,
  type Dialect,
} from "./postgres.js";
import {
  CORPUS_SIZED_JOBS,
  CORPUS_SIZED_PREFIX,
  CORPUS_SIZED_RAPS,
  rapIds,
  seedStatus,
} from "./status-seed.js";

const ROOT = resolve(import.meta.dirname, "..");
const TOKEN = "bench-token";
const BACKENDS = ["test", "tpp", "emis", "ted"] as const;
/** Each backend's agent has its own token (the configuration refuses one token shared between backends). */
const agentToken = (backend: string) => `bench-agent-token-${backend}`;
const ENV: Env = Object.fromEntries([
  ["BACKENDS", BACKENDS.join(",")],
  ...BACKENDS.flatMap((b) => [
    [`${b.toUpperCase()}_CLIENT_TOKENS`, TOKEN],
    [`${b.toUpperCase()}_JOB_SERVER_TOKEN`, agentToken(b)],
  ]),
]);
/** The agents polling for tasks during the "with agents" case, each once a second, spread over the backends. */
const POLLING_AGENTS = 10;
const THROUGHPUT_SECONDS = 5;
const LATENCY_SECONDS = 3;
const CONNECTIONS = 10;
const ROUNDS = 3;

// ---------------------------------------------------------------------------------------------------------------
// Server side (a forked child process)

type ServerKind = { kind: "bare"; body: string } | { kind: "app"; database: DatabaseLocation };

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
    const storage = await openStorage(spec.database, { statusWorkers: Math.min(4, availableParallelism()) });
    const { app } = await appOnStorage(storage, config);
    await app.listen({ host: "127.0.0.1", port: 0 });
    port = (app.server.address() as { port: number }).port;
  }
  process.send!({ port });
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
  database: Dialect | null;
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

async function measure(port: number, c: Case, database: Dialect | null): Promise<Measured> {
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
    database,
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

function statusCase(name: string, raps: number, perRap: number, prefix?: string): Case {
  return {
    name,
    method: "POST",
    path: "/controller/v1/rap/status/",
    body: JSON.stringify({ rap_ids: rapIds(raps, prefix) }),
    jobs: raps * perRap,
  };
}

/**
 * `POLLING_AGENTS` agents, each polling `GET /{backend}/tasks/` once a second on its own connection, until
 * stopped; `stop()` says how many polls there were and how many failed.
 */
function startPolling(port: number): { stop(): Promise<{ polls: number; failed: number }> } {
  let polls = 0;
  let failed = 0;
  let running = true;
  const loops = Array.from({ length: POLLING_AGENTS }, async (_, i) => {
    const backend = BACKENDS[i % BACKENDS.length]!;
    const connection = new Agent({ keepAlive: true, maxSockets: 1 });
    // Spread over the second, as independent agents would be.
    await new Promise((done) => setTimeout(done, (1000 * i) / POLLING_AGENTS));
    while (running) {
      const started = performance.now();
      const answer = await new Promise<number>((done) => {
        const req = request(
          {
            host: "127.0.0.1",
            port,
            path: `/${backend}/tasks/`,
            agent: connection,
            headers: { authorization: agentToken(backend) },
          },
          (res) => {
            res.resume();
            res.on("end", () => done(res.statusCode ?? 0));
          },
        );
        req.on("error", () => done(0));
        req.end();
      });
      polls += 1;
      if (answer !== 200) failed += 1;
      const wait = 1000 - (performance.now() - started);
      if (running && wait > 0) await new Promise((done) => setTimeout(done, wait));
    }
    connection.destroy();
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return { polls, failed };
    },
  };
}

/** One row per case, each database's figures side by side, and PostgreSQL's rate over SQLite's. */
function table(results: Measured[], dialects: readonly Dialect[]): string {
  const names = dialects.map((d) => DIALECT_NAMES[d]);
  const per = (label: string) => names.map((n) => `${label}, ${n}`);
  const both = dialects.length > 1;
  const header = [
    "case",
    "jobs",
    "body",
    ...per("req/s (10 conns)"),
    ...(both ? ["PostgreSQL ÷ SQLite req/s"] : []),
    ...per("p50 / p99 under load"),
    ...per("one client p50 / p99"),
  ];
  const lines = [
    `| ${header.join(" | ")} |`,
    `|---|${header
      .slice(1)
      .map(() => "---:")
      .join("|")}|`,
  ];
  for (const name of [...new Set(results.map((r) => r.case))]) {
    const found = results.filter((r) => r.case === name);
    // The bare server has no database: its figures stand in every column.
    const of = dialects.map((d) => found.find((r) => r.database === d) ?? found[0]!);
    const first = of[0]!;
    const size =
      first.bodyBytes >= 10_000 ? `${Math.round(first.bodyBytes / 1000)} kB` : `${first.bodyBytes} B`;
    lines.push(
      `| ${[
        name,
        first.jobs?.toLocaleString("en") ?? "",
        size,
        ...of.map((r) => r.requestsPerSecond.toLocaleString("en")),
        ...(both ? [(of[1]!.requestsPerSecond / first.requestsPerSecond).toFixed(2)] : []),
        ...of.map((r) => `${r.loadP50Ms} / ${r.loadP99Ms} ms`),
        ...of.map((r) => `${r.latencyP50Ms} / ${r.latencyP99Ms} ms`),
      ].join(" | ")} |`,
    );
  }
  return lines.join("\n");
}

const BACKEND_STATUS: Case = {
  name: "GET backend/status/ (4 backends)",
  method: "GET",
  path: "/controller/v1/backend/status/",
};

const WITH_AGENTS = `GET backend/status/ (4 backends), ${POLLING_AGENTS} agents polling tasks each second`;

/** The seeded databases of one dialect. */
interface Databases {
  dialect: Dialect;
  small: BenchDatabase;
  large: BenchDatabase;
}

/** One round: every case against freshly started servers, on each database in turn. */
async function round(
  each: readonly Databases[],
  polls: { polls: number; failed: number }[],
): Promise<Measured[]> {
  const results: Measured[] = [];
  let sample = { status: 0, bytes: 0 };
  for (const { dialect, small, large } of each) {
    let target = await start({ kind: "app", database: small.location });
    sample = await once(target.port, BACKEND_STATUS);
    results.push(await measure(target.port, BACKEND_STATUS, dialect));
    const agents = startPolling(target.port);
    results.push(await measure(target.port, { ...BACKEND_STATUS, name: WITH_AGENTS }, dialect));
    polls.push(await agents.stop());
    results.push(
      await measure(target.port, statusCase("POST rap/status/, 10 RAPs × 2 jobs", 10, 2), dialect),
    );
    await stop(target);

    target = await start({ kind: "app", database: large.location });
    results.push(
      await measure(
        target.port,
        statusCase("POST rap/status/, 100 of 1,000 RAPs × 10 jobs", 100, 10),
        dialect,
      ),
    );
    results.push(
      await measure(target.port, statusCase("POST rap/status/, 1,000 RAPs × 10 jobs", 1000, 10), dialect),
    );
    results.push(
      await measure(
        target.port,
        statusCase(
          `POST rap/status/, ${CORPUS_SIZED_RAPS} RAPs × ${CORPUS_SIZED_JOBS.toLocaleString("en")} jobs`,
          CORPUS_SIZED_RAPS,
          CORPUS_SIZED_JOBS,
          CORPUS_SIZED_PREFIX,
        ),
        dialect,
      ),
    );
    await stop(target);
  }

  // The ceiling: node:http answering a body as large as backend/status's, with nothing else to do.
  const bare = await start({ kind: "bare", body: "x".repeat(sample.bytes) });
  results.push(
    await measure(bare.port, { name: "bare node:http, same-sized body", method: "GET", path: "/" }, null),
  );
  await stop(bare);
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

/** A database of each size for `dialect`, seeded. */
async function seeded(dialect: Dialect, dir: string): Promise<Databases> {
  const small = await createBenchDatabase(dialect, dir, "small");
  const large = await createBenchDatabase(dialect, dir, "large");
  await seedStatus(small.location, 10, 2);
  await seedStatus(large.location, 1000, 10, {
    raps: CORPUS_SIZED_RAPS,
    perRap: CORPUS_SIZED_JOBS,
    prefix: CORPUS_SIZED_PREFIX,
  });
  return { dialect, small, large };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "rap-bench-api-"));
  const dialects = benchDialects();
  const rounds: Measured[][] = [];
  const polls: { polls: number; failed: number }[] = [];
  const loadAtStart = loadavg()[0]!;
  const each: Databases[] = [];
  try {
    console.log(
      `seeding ${dialects.map((d) => DIALECT_NAMES[d]).join(" and ")}: 10 RAPs × 2 jobs, and 1,000 RAPs × 10 jobs ` +
        `with ${CORPUS_SIZED_RAPS} RAPs × ${CORPUS_SIZED_JOBS} jobs beside them (each job with a RUNJOB task and metrics)`,
    );
    for (const dialect of dialects) each.push(await seeded(dialect, dir));
    for (let i = 1; i <= ROUNDS; i++) {
      console.log(`round ${i} of ${ROUNDS}`);
      rounds.push(await round(each, polls));
    }
  } finally {
    agent.destroy();
    for (const { small, large } of each) {
      await small.drop();
      await large.drop();
    }
    rmSync(dir, { recursive: true, force: true });
  }
  const loadAtEnd = loadavg()[0]!;

  const results = medians(rounds);
  // The ratio is taken within each round (same conditions), then its median.
  const ratioOf = (dialect: Dialect, name: string) =>
    rounds.map(
      (r) =>
        r.find((m) => m.case === name && m.database === dialect)!.requestsPerSecond /
        r.find((m) => m.case.startsWith("bare"))!.requestsPerSecond,
    );
  const ratioLine = (name: string, label: string) =>
    dialects
      .map((d) => {
        const ratios = ratioOf(d, name);
        return `${DIALECT_NAMES[d]} ${median(ratios).toFixed(2)} (per round ${ratios.map((r) => r.toFixed(2)).join(", ")})`;
      })
      .join("; ")
      .replace(/^/, `${label}: `);
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}`;
  const date = new Date().toISOString().slice(0, 10);
  const rendered = table(results, dialects);
  const totalPolls = polls.reduce((sum, p) => sum + p.polls, 0);
  const failedPolls = polls.reduce((sum, p) => sum + p.failed, 0);
  const summary = [
    ratioLine(
      BACKEND_STATUS.name,
      "backend/status/ as a share of the bare node:http rate (median of the per-round ratios)",
    ),
    ratioLine(WITH_AGENTS, `the same with ${POLLING_AGENTS} agents polling`),
    `The agents polled ${totalPolls.toLocaleString("en")} times in all; ${failedPolls} polls failed.`,
    `Load average: ${loadAtStart.toFixed(1)} when the run began, ${loadAtEnd.toFixed(1)} when it ended (on ${cpus().length} cores).`,
  ];
  console.log(`\n${rendered}\n\n${summary.join("\n")}\n(${machine})`);

  const resultsDir = join(ROOT, "bench", "results");
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(
    join(resultsDir, `api-${new Date().toISOString().replace(/[:.]/g, "-")}.json`),
    `${JSON.stringify({ date, machine, loadAtStart, loadAtEnd, polls, medians: results, rounds }, null, 2)}\n`,
  );

  const databases =
    dialects.length > 1
      ? "an SQLite file and a database on a local PostgreSQL server, every case on both in each round"
      : "an SQLite file database (PostgreSQL skipped: no server named)";
  writeDocsSection(
    "bench:api",
    "RAP API",
    [
      `Measured by \`npm run bench:api\` on ${date}, ${machine}; loopback, each server in its own process, on`,
      `${databases}. Throughput: autocannon, 10 connections, 5 s (its latencies are whole milliseconds). One client:`,
      "requests one after another for 3 s, timed to the microsecond. rap/status/ cases ask for that many RAPs out of",
      `a database of 10 RAPs × 2 jobs, or of 1,000 RAPs × 10 jobs beside ${CORPUS_SIZED_RAPS} RAPs of ${CORPUS_SIZED_JOBS.toLocaleString("en")} jobs`,
      '(the corpus\'s largest project), every job with a RUNJOB task carrying metrics. "agents polling": meanwhile',
      `${POLLING_AGENTS} agents (spread over the 4 backends) each poll \`GET /{backend}/tasks/\` once a second, and every poll`,
      "writes that backend's last-seen-at flag, which backend/status/ reads.",
      `Medians of ${ROUNDS} rounds (the machine is shared, so single runs vary by up to a factor of two).`,
      "",
      rendered,
      "",
      ...summary,
    ].join("\n"),
  );
}

if (process.argv[2] === "serve") await serve(JSON.parse(process.argv[3]!) as ServerKind);
else await main();
