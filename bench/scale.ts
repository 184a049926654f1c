/**
 * `npm run bench:scale`: one controller under the load of many backends, as in production but ten times larger.
 *
 * For each size (SCALE_BACKENDS, default "5,50" backends) and database (SQLite, and PostgreSQL when a server is
 * named: bench/postgres.ts), a controller is opened in a child process (openController, as `rap controller` does)
 * on a fresh database, and one RAP per backend is created over HTTP: the corpus's largest project
 * (disparities-comparison.yaml, `run_all`: 2,191 jobs with their real dependencies) from a local git repository.
 * Then, for SCALE_SECONDS (default 60) after a warm-up:
 *
 * - one simulated agent per backend polls `GET /{backend}/tasks/` every second and answers each RUNJOB task as a
 *   real agent would, without running anything: `executing` when it first sees the task, `finalized` with
 *   successful results at its next poll a second later (SCALE_MAX_WORKERS jobs per backend at once, default 20);
 * - job-server asks `POST rap/status/` for every RAP every 10 s and `GET backend/status/` every second;
 * - a load balancer's health check asks `GET /` every 250 ms.
 *
 * Each request kind's p50/p99/max, the jobs finished per second (task completions the controller accepted, and
 * the jobs rap/status shows succeeded over the window), and the controller process's CPU and peak memory, read
 * from /proc. The baseline, in the same run: the same database and load with no scheduler running (one pass starts
 * the first jobs, then none; the agents report them executing at every poll, as many updates as when jobs finish),
 * so the difference is what the scheduler's passes cost every other request. Prints the table, saves bench/results/scale.json and writes its
 * section of docs/benchmarks.md.
 */
import { type ChildProcess, fork } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { openController } from "../src/app/controller.js";
import { createLogger } from "../src/app/logger.js";
import { type Env, loadConfig } from "../src/config/index.js";
import type { AgentTask } from "../src/domain/task.js";
import { createStudyRepo } from "../test/support/git-fixtures.js";
import { finishedResults } from "../test/support/test-agent.js";
import { runAllCreateBody } from "./create-body.js";
import { writeDocsSection } from "./docs-section.js";
import { benchDialects, createBenchDatabase, DIALECT_NAMES, type Dialect } from "./postgres.js";

const ROOT = resolve(import.meta.dirname, "..");
const CORPUS_PROJECT = join(
  process.env.RAP_SHARED_DIR ?? resolve(ROOT, "..", "shared"),
  "corpus/projects/disparities-comparison.yaml",
);
const SIZES = (process.env.SCALE_BACKENDS ?? "5,50").split(",").map(Number);
const MEASURE_S = Number(process.env.SCALE_SECONDS ?? 60);
const WARM_UP_S = Number(process.env.SCALE_WARM_UP_SECONDS ?? 5);
const MAX_WORKERS = Number(process.env.SCALE_MAX_WORKERS ?? 20);
const CLIENT_TOKEN = "scale-client-token";
const agentToken = (backend: string) => `scale-agent-token-${backend}`;
const backendNames = (count: number) =>
  Array.from({ length: count }, (_, i) => `b${String(i).padStart(2, "0")}`);
/** Every RAP id is 16 of [a-z0-9]; one per backend. */
const rapIdOf = (backend: string) => `scale${backend.padStart(11, "0")}`;

// ---------------------------------------------------------------------------------------------------------------
// The controller (a forked child process, so its CPU and memory are its own)

interface ServeSpec {
  env: Env;
}

async function serve(spec: ServeSpec): Promise<void> {
  const config = loadConfig(spec.env);
  const controller = await openController(config, { log: createLogger("warn") });
  await controller.app.listen({ host: "127.0.0.1", port: 0 });
  process.on("message", async (message: { kind: "start" | "tick" | "stop" }) => {
    if (message.kind === "start") controller.scheduler.start();
    else if (message.kind === "tick") await controller.scheduler.tick();
    else {
      await controller.close();
      process.exit(0);
    }
    process.send!({ done: message.kind });
  });
  process.send!({ port: (controller.app.server.address() as { port: number }).port });
}

interface Server {
  port: number;
  child: ChildProcess;
  /** Sends a command and waits until the child has carried it out. */
  command(kind: "start" | "tick" | "stop"): Promise<void>;
}

async function startServer(env: Env): Promise<Server> {
  const child = fork(import.meta.filename, ["serve", JSON.stringify({ env })], {
    execArgv: process.execArgv,
  });
  const port = await new Promise<number>((done, fail) => {
    child.once("message", (message) => done((message as { port: number }).port));
    child.once("exit", (code) => fail(new Error(`the controller exited with ${code} before listening`)));
  });
  const command = (kind: "start" | "tick" | "stop") =>
    new Promise<void>((done) => {
      if (kind === "stop") child.once("exit", () => done());
      else child.once("message", () => done());
      child.send({ kind });
    });
  return { port, child, command };
}

/** The process's CPU time so far (user + system), in seconds, and its resident and peak memory in MiB. */
function processUsage(pid: number): { cpuS: number; rssMb: number; peakMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
  return { cpuS: ticks / 100, rssMb: kb("VmRSS") / 1024, peakMb: kb("VmHWM") / 1024 };
}

// ---------------------------------------------------------------------------------------------------------------
// The load

const keepAlive = new Agent({ keepAlive: true, maxSockets: 256 });

interface Answer {
  status: number;
  body: Buffer;
}

const FORM = "application/x-www-form-urlencoded";
const JSON_TYPE = "application/json";

function call(
  port: number,
  method: string,
  path: string,
  token: string,
  body?: { type: string; text: string },
): Promise<Answer> {
  return new Promise((done, fail) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        agent: keepAlive,
        headers: {
          authorization: token,
          ...(body && { "content-type": body.type, "content-length": Buffer.byteLength(body.text) }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on("error", fail);
      },
    );
    req.on("error", fail);
    req.end(body?.text);
  });
}

type Kind = "GET tasks" | "POST task/update" | "POST rap/status" | "GET backend/status" | "GET /";
const KINDS: readonly Kind[] = [
  "GET tasks",
  "POST task/update",
  "POST rap/status",
  "GET backend/status",
  "GET /",
];

/** Request latencies by kind, kept only while `measuring`. */
class Recorder {
  measuring = false;
  readonly latencies = new Map<Kind, number[]>(KINDS.map((kind) => [kind, []]));
  failures = 0;
  completions = 0;

  async timed(kind: Kind, send: () => Promise<Answer>): Promise<Answer | undefined> {
    const started = performance.now();
    try {
      const answer = await send();
      if (this.measuring) {
        this.latencies.get(kind)!.push(performance.now() - started);
        if (answer.status >= 400) this.failures++;
      }
      return answer;
    } catch {
      if (this.measuring) this.failures++;
      return undefined;
    }
  }
}

/** Runs `step` every `intervalMs` (from each start to the next) until stopped. */
function every(intervalMs: number, step: () => Promise<void>): { stop(): Promise<void> } {
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      await step();
      const rest = intervalMs - (performance.now() - started);
      if (rest > 0 && running) await new Promise((done) => setTimeout(done, rest));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/**
 * One backend's agent: reports each job executing when it first sees it, and at its next poll (a second later)
 * finished; with `finish` false (the baseline) it reports every job executing at every poll instead, so the
 * controller takes as many updates as when jobs finish.
 */
function simulatedAgent(port: number, backend: string, recorder: Recorder, finish: boolean) {
  const executing = new Set<string>();
  const token = agentToken(backend);
  const update = (taskId: string, stage: string, complete: boolean, results: Record<string, unknown>) => {
    const payload = JSON.stringify({
      task_id: taskId,
      stage,
      results,
      complete,
      timestamp_ns: Date.now() * 1e6,
    });
    return recorder.timed("POST task/update", () =>
      call(port, "POST", `/${backend}/task/update/`, token, {
        type: FORM,
        text: new URLSearchParams({ payload }).toString(),
      }),
    );
  };
  return every(1000, async () => {
    const answer = await recorder.timed("GET tasks", () => call(port, "GET", `/${backend}/tasks/`, token));
    if (answer?.status !== 200) return;
    const { tasks } = JSON.parse(answer.body.toString()) as { tasks: AgentTask[] };
    for (const task of tasks) {
      if (task.type === "runjob" && (!finish || !executing.has(task.id))) {
        executing.add(task.id);
        await update(task.id, "executing", false, {});
      } else {
        const done = await update(
          task.id,
          "finalized",
          true,
          task.type === "runjob" ? finishedResults() : {},
        );
        executing.delete(task.id);
        if (done?.status === 200 && recorder.measuring) recorder.completions++;
      }
    }
  });
}

/** Jobs rap/status shows succeeded (`"status":"succeeded"`, not the status code's key). */
function succeededIn(body: Buffer): number {
  const needle = Buffer.from('"status":"succeeded"');
  let count = 0;
  for (let at = body.indexOf(needle); at !== -1; at = body.indexOf(needle, at + needle.length)) count++;
  return count;
}

// ---------------------------------------------------------------------------------------------------------------
// One case

interface CaseResult {
  backends: number;
  dialect: Dialect;
  scheduler: boolean;
  jobs: number;
  latencies: Record<Kind, { count: number; p50: number; p99: number; max: number }>;
  failures: number;
  completionsPerS: number;
  succeededPerS: number;
  cpuPercent: number;
  peakRssMb: number;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

async function runCase(
  dir: string,
  dialect: Dialect,
  count: number,
  withScheduler: boolean,
  repo: { path: string; commit: string },
): Promise<CaseResult> {
  const backends = backendNames(count);
  const database = await createBenchDatabase(dialect, dir, `scale-${count}-${withScheduler}`);
  const env: Env = {
    BACKENDS: backends.join(","),
    WORKDIR: join(dir, `workdir-${dialect}-${count}-${withScheduler}`),
    DATABASE_URL:
      database.location.dialect === "sqlite" ? `sqlite:${database.location.path}` : database.location.url,
    ALLOW_LOCAL_GIT_REPOS: "true",
    RESOLVE_IMAGE_DIGESTS: "false",
    MAINTENANCE_ENABLED_BACKENDS: "",
    DATA_CHECK_ENABLED_BACKENDS: "",
    LOGLEVEL: "warn",
    ...Object.fromEntries(
      backends.flatMap((b) => [
        [`${b.toUpperCase()}_CLIENT_TOKENS`, CLIENT_TOKEN],
        [`${b.toUpperCase()}_JOB_SERVER_TOKEN`, agentToken(b)],
        [`${b.toUpperCase()}_MAX_WORKERS`, String(MAX_WORKERS)],
      ]),
    ),
  };
  mkdirSync(env.WORKDIR!, { recursive: true });
  const server = await startServer(env);
  const { port } = server;
  try {
    let jobs = 0;
    for (const backend of backends) {
      const answer = await call(port, "POST", "/controller/v1/rap/create/", CLIENT_TOKEN, {
        type: JSON_TYPE,
        text: JSON.stringify(
          runAllCreateBody({
            backend,
            rapId: rapIdOf(backend),
            workspace: `scale-${backend}`,
            repoUrl: repo.path,
            commit: repo.commit,
          }),
        ),
      });
      if (answer.status !== 201) throw new Error(`create for ${backend}: ${answer.status} ${answer.body}`);
      jobs += (JSON.parse(answer.body.toString()) as { count: number }).count;
    }
    await server.command(withScheduler ? "start" : "tick");

    const recorder = new Recorder();
    const statusBody = JSON.stringify({ rap_ids: backends.map(rapIdOf) });
    const rapStatus = () =>
      call(port, "POST", "/controller/v1/rap/status/", CLIENT_TOKEN, { type: JSON_TYPE, text: statusBody });
    const loops = [
      ...backends.map((backend) => simulatedAgent(port, backend, recorder, withScheduler)),
      every(10_000, async () => {
        await recorder.timed("POST rap/status", rapStatus);
      }),
      every(1000, async () => {
        await recorder.timed("GET backend/status", () =>
          call(port, "GET", "/controller/v1/backend/status/", CLIENT_TOKEN),
        );
      }),
      every(250, async () => {
        await recorder.timed("GET /", () => call(port, "GET", "/", ""));
      }),
    ];
    await new Promise((done) => setTimeout(done, WARM_UP_S * 1000));
    const succeededBefore = succeededIn((await rapStatus()).body);
    const usageBefore = processUsage(server.child.pid!);
    recorder.measuring = true;
    const started = performance.now();
    await new Promise((done) => setTimeout(done, MEASURE_S * 1000));
    recorder.measuring = false;
    const seconds = (performance.now() - started) / 1000;
    const usageAfter = processUsage(server.child.pid!);
    const succeededAfter = succeededIn((await rapStatus()).body);
    await Promise.all(loops.map((loop) => loop.stop()));

    const latencies = Object.fromEntries(
      KINDS.map((kind) => {
        const sorted = [...recorder.latencies.get(kind)!].sort((a, b) => a - b);
        return [
          kind,
          {
            count: sorted.length,
            p50: percentile(sorted, 0.5),
            p99: percentile(sorted, 0.99),
            max: sorted.at(-1) ?? NaN,
          },
        ];
      }),
    ) as CaseResult["latencies"];
    return {
      backends: count,
      dialect,
      scheduler: withScheduler,
      jobs,
      latencies,
      failures: recorder.failures,
      completionsPerS: recorder.completions / seconds,
      succeededPerS: (succeededAfter - succeededBefore) / seconds,
      cpuPercent: ((usageAfter.cpuS - usageBefore.cpuS) / seconds) * 100,
      peakRssMb: usageAfter.peakMb,
    };
  } finally {
    await server.command("stop");
    await database.drop();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Report

const ms = (value: number) =>
  Number.isNaN(value)
    ? "–"
    : value >= 100
      ? `${Math.round(value)}`
      : value >= 10
        ? value.toFixed(1)
        : value.toFixed(2);

function table(results: readonly CaseResult[]): string {
  const header = [
    "backends (active jobs)",
    "database",
    "scheduler",
    ...KINDS.map((kind) => `${kind} p50 / p99 / max (ms)`),
    "jobs finished/s (tasks / rap/status)",
    "controller CPU",
    "peak RSS",
    "failed requests",
  ];
  const rows = results.map((r) => [
    `${r.backends} (${r.jobs.toLocaleString("en")})`,
    DIALECT_NAMES[r.dialect],
    r.scheduler ? "running" : "none (baseline)",
    ...KINDS.map((kind) => {
      const l = r.latencies[kind];
      return `${ms(l.p50)} / ${ms(l.p99)} / ${ms(l.max)}`;
    }),
    `${Math.round(r.completionsPerS)} / ${Math.round(r.succeededPerS)}`,
    `${Math.round(r.cpuPercent)}%`,
    `${Math.round(r.peakRssMb)} MB`,
    String(r.failures),
  ]);
  return [header, header.map(() => "---"), ...rows].map((cells) => `| ${cells.join(" | ")} |`).join("\n");
}

async function main(): Promise<void> {
  const dialects = benchDialects();
  const dir = mkdtempSync(join(tmpdir(), "rap-bench-scale-"));
  const loadBefore = loadavg()[0]!;
  try {
    const study = await createStudyRepo({
      path: join(dir, "study"),
      files: { "project.yaml": readFileSync(CORPUS_PROJECT, "utf8") },
    });
    const repo = { path: study.path, commit: study.commits[0]! };
    const results: CaseResult[] = [];
    for (const count of SIZES) {
      for (const dialect of dialects) {
        for (const withScheduler of [false, true]) {
          console.log(
            `${count} backends, ${DIALECT_NAMES[dialect]}, scheduler ${withScheduler ? "running" : "off"}…`,
          );
          results.push(await runCase(dir, dialect, count, withScheduler, repo));
        }
      }
    }
    const measured = `Measured by \`npm run bench:scale\` on ${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model.split(" ").slice(0, 2).join(" ")}, Node ${process.version}. One controller (openController in a child process, as \`rap controller\`) per case, one RAP of the corpus's largest project (2,191 jobs, \`run_all\`) per backend created over HTTP; then ${WARM_UP_S} s of warm-up and ${MEASURE_S} s measured, with one simulated agent per backend polling every second and finishing each job a poll after it started (at most ${MAX_WORKERS} per backend at once), job-server asking rap/status of every RAP every 10 s and backend/status every second, a health check every 250 ms. Baseline: the same with no scheduler running (one pass started the first jobs), its agents reporting every job executing at every poll, so the controller takes as many task updates. Jobs finished: task completions accepted per second, and jobs rap/status showed succeeded over the window. Load average ${loadBefore.toFixed(1)} when the run began, ${loadavg()[0]!.toFixed(1)} when it ended (on ${cpus().length} cores); the simulated clients share those cores.

${table(results)}`;
    console.log(`\n${measured}`);
    mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
    writeFileSync(join(ROOT, "bench", "results", "scale.json"), `${JSON.stringify(results, null, 2)}\n`);
    writeDocsSection("bench:scale", "One controller at scale", measured);
  } finally {
    keepAlive.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "serve") await serve(JSON.parse(process.argv[3]!) as ServeSpec);
else await main();
