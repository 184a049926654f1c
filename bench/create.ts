/**
 * Time per RAP create with a warm git cache: a 30-action project and the largest corpus project (run_all → every
 * action a new job), through the create pipeline against a real SQLite database and a real local git repository,
 * and the same create over HTTP (`POST rap/create/` to the API server on loopback, as job-server sends it). Also
 * counts git processes per create, and times what a create saves when the project is cached (reading project.yaml
 * from git, parsing it) so the total can be read against those parts. The baseline, from the same run and taking
 * turns with the creates, is inserting the same jobs and nothing else (through the storage, so each database in its
 * own form): a create far above it has a regression to find. Every case runs on SQLite and, when a server is named
 * (bench/postgres.ts), on PostgreSQL in the same run. Results go to bench/results/create.json and the measured part
 * of the "## Creating RAPs" section of docs/benchmarks.md.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Config, type DatabaseLocation, loadConfig } from "../src/config/index.js";
import { openStorage } from "../src/db/open.js";
import type { Storage } from "../src/db/storage.js";
import { systemClock } from "../src/domain/clock.js";
import { deterministicJobId } from "../src/domain/ids.js";
import type { Job } from "../src/domain/job.js";
import { gitProcessCounts, readFileFromRepo } from "../src/git/index.js";
import { createJobs } from "../src/jobs/create.js";
import { gitSettingsFor } from "../src/jobs/git-settings.js";
import { ProjectCache } from "../src/jobs/project-cache.js";
import type { CreateRequest } from "../src/jobs/request.js";
import { parseProject } from "../src/pipeline/index.js";
import { appOnStorage } from "../test/http/support.js";
import { createStudyRepo, startGitServer } from "../test/support/git-fixtures.js";
import { runAllCreateBody } from "./create-body.js";
import { writeDocsSection } from "./docs-section.js";
import { benchDialects, createBenchPostgres, DIALECT_NAMES, type Dialect } from "./postgres.js";

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const TOKEN = "bench-token";
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const corpusProject = join(
  process.env.RAP_SHARED_DIR ?? resolve(repoRoot, "..", "shared"),
  "corpus/projects/disparities-comparison.yaml",
);

/** 30 actions: one database action, 28 preparation steps that need it, and a report that needs them all. */
function thirtyActionProject(): string {
  const prepare = Array.from(
    { length: 28 },
    (_, i) => `  prepare_${i}:
    run: python:v2 analysis/prepare.py --part ${i}
    needs: [generate_dataset]
    outputs: {moderately_sensitive: {table: output/prepared_${i}.csv}}
`,
  ).join("");
  return `version: "4.0"
actions:
  generate_dataset:
    run: ehrql:v1 generate-dataset analysis/dataset_definition.py --output output/dataset.csv.gz
    outputs: {highly_sensitive: {dataset: output/dataset.csv.gz}}
${prepare}  report:
    run: python:v2 analysis/report.py
    needs: [${Array.from({ length: 28 }, (_, i) => `prepare_${i}`).join(", ")}]
    outputs: {moderately_sensitive: {report: output/report.html}}
`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * The baseline, measured in the same run: inserting the same jobs (under a new rap id) in one transaction and
 * nothing else, the least any create of them must cost.
 */
async function insertOnlyMs(storage: Storage, jobs: readonly Job[], run: number): Promise<number> {
  const rapId = `floor${String(run).padStart(11, "0")}`;
  const copies = jobs.map((job) => ({ ...job, rapId, id: deterministicJobId(rapId, job.action) }));
  const started = performance.now();
  await storage.transaction((stores) => stores.jobs.insert(copies));
  return performance.now() - started;
}

interface Source {
  repoUrl: string;
  commit: string;
  /** Configuration beyond BACKENDS and WORKDIR. */
  env: Record<string, string>;
}

/** A local repository (allowed as in development), or the same study behind the GitHub code path. */
async function localSource(work: string, name: string, projectYaml: string): Promise<Source> {
  const repo = await createStudyRepo({ path: join(work, name), files: { "project.yaml": projectYaml } });
  return { repoUrl: repo.path, commit: repo.commits[0]!, env: { ALLOW_LOCAL_GIT_REPOS: "true" } };
}

/** One case on each database of the run. */
async function measureOnEach(
  dialects: readonly Dialect[],
  name: string,
  source: Source,
  work: string,
  runs: number,
) {
  const rows = [];
  for (const dialect of dialects) {
    if (dialect === "sqlite") {
      const path = join(work, `${name}-sqlite`, "db.sqlite");
      rows.push(await measureCase(name, source, work, runs, { dialect, path }));
    } else {
      const postgres = await createBenchPostgres();
      try {
        rows.push(await measureCase(name, source, work, runs, postgres.location));
      } finally {
        await postgres.drop();
      }
    }
  }
  return rows;
}

/** The API server as the controller builds it (without its scheduler loop), listening on loopback. */
async function startApi(storage: Storage, config: Config): Promise<{ url: URL; close(): Promise<void> }> {
  const { app } = await appOnStorage(storage, config);
  await app.listen({ host: "127.0.0.1", port: 0 });
  const { port } = app.server.address() as { port: number };
  return { url: new URL(`http://127.0.0.1:${port}/controller/v1/rap/create/`), close: () => app.close() };
}

const agent = new Agent({ keepAlive: true });

/** POSTs one create and waits for the whole answer; throws unless it created jobs. */
function postCreate(url: URL, body: Record<string, unknown>): Promise<void> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        agent,
        headers: {
          authorization: TOKEN,
          "content-type": "application/json",
          "content-length": Buffer.byteLength(payload),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          res.statusCode === 201
            ? resolve()
            : reject(new Error(`rap/create answered ${res.statusCode}: ${Buffer.concat(chunks)}`)),
        );
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

async function measureCase(
  name: string,
  source: Source,
  work: string,
  runs: number,
  location: DatabaseLocation,
) {
  const { repoUrl: repo, commit } = source;
  const config = loadConfig({
    BACKENDS: "test",
    TEST_CLIENT_TOKENS: TOKEN,
    WORKDIR: join(work, `${name}-${location.dialect}-workdir`),
    ...source.env,
  });
  const git = gitSettingsFor(config);
  if (location.dialect === "sqlite") mkdirSync(dirname(location.path), { recursive: true });
  // As the controller opens it (SQLite's checkpoints on a thread of their own).
  const storage = await openStorage(location, { migrate: true, backgroundCheckpoints: true });
  let counter = 0;
  const rapId = () => `bench${String(++counter).padStart(11, "0")}`;
  const request = (): CreateRequest => ({
    rapId: rapId(),
    backend: "test",
    workspace: `${name}-${counter}`,
    repoUrl: repo,
    branch: "main",
    commit,
    databaseName: "default",
    requestedActions: ["run_all"],
    codelistsOk: true,
    forceRunDependencies: false,
    createdBy: "bench",
    project: "bench",
    orgs: [],
    analysisScope: {},
  });
  // As the server runs it: with the parsed-project cache, so a warm create reads no git.
  const deps = {
    storage,
    git,
    backends: config.backends,
    maxRunCommandBytes: config.limits.maxRunCommandBytes,
    projects: new ProjectCache(),
    clock: systemClock,
  };

  const coldStarted = performance.now();
  const first = await createJobs(deps, request());
  const coldMs = performance.now() - coldStarted;
  if (first.kind !== "created") throw new Error(`${name}: the first create created nothing`);
  const jobs = first.jobs.length;
  const api = await startApi(storage, config);
  const httpCreate = () => {
    const id = rapId();
    const body = runAllCreateBody({
      rapId: id,
      workspace: `${name}-http-${counter}`,
      repoUrl: source.repoUrl,
      commit: source.commit,
    });
    return postCreate(api.url, body);
  };
  await httpCreate(); // the server's own first create: its project cache is cold

  // The three measures take turns, so a change in the machine's load falls on each alike.
  const totals: number[] = [];
  const overHttp: number[] = [];
  const inserts: number[] = [];
  const gitProcesses: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const before = gitProcessCounts().total;
      let started = performance.now();
      await createJobs(deps, request());
      totals.push(performance.now() - started);
      gitProcesses.push(gitProcessCounts().total - before);
      started = performance.now();
      await httpCreate();
      overHttp.push(performance.now() - started);
      inserts.push(await insertOnlyMs(storage, first.jobs, i));
    }
  } finally {
    await api.close();
  }

  const readTimes: number[] = [];
  const parseTimes: number[] = [];
  for (let i = 0; i < runs; i++) {
    let started = performance.now();
    const bytes = await readFileFromRepo(repo, commit, "project.yaml", git);
    readTimes.push(performance.now() - started);
    started = performance.now();
    parseProject(bytes!);
    parseTimes.push(performance.now() - started);
  }
  await storage.close();
  return {
    name,
    database: location.dialect,
    jobs,
    coldMs,
    medianMs: median(totals),
    minMs: Math.min(...totals),
    httpMedianMs: median(overHttp),
    gitProcessesPerCreate: median(gitProcesses),
    gitReadMs: median(readTimes),
    parseMs: median(parseTimes),
    insertOnlyMs: median(inserts),
  };
}

const work = mkdtempSync(join(tmpdir(), "rap-bench-create-"));
const dialects = benchDialects();
const loadAtStart = loadavg()[0]!;
try {
  const rows = await measureOnEach(
    dialects,
    "thirty-actions",
    await localSource(work, "thirty", thirtyActionProject()),
    work,
    RUNS,
  );
  // The GitHub path: GitHub cannot be reached from here, so the proxy setting points at a local git server, which
  // is how the controller reaches GitHub in production (through its proxy). Every create asks the remote for the
  // branch head (ls-remote), as the reference does.
  const server = await startGitServer(join(work, "github"));
  try {
    const study = await createStudyRepo({
      path: join(work, "github", "opensafely", "study"),
      files: { "project.yaml": thirtyActionProject() },
    });
    const github = {
      repoUrl: "https://github.com/opensafely/study",
      commit: study.commits[0]!,
      env: { GITHUB_PROXY_DOMAIN: server.url },
    };
    rows.push(...(await measureOnEach(dialects, "thirty-actions-github", github, work, RUNS)));
  } finally {
    await server.close();
  }
  if (existsSync(corpusProject)) {
    const corpus = await localSource(work, "corpus", readFileSync(corpusProject, "utf8"));
    const runs = Math.max(5, Math.floor(RUNS / 3));
    rows.push(...(await measureOnEach(dialects, "disparities-comparison", corpus, work, runs)));
  } else {
    console.warn(`skipping the corpus case: ${corpusProject} not found (set RAP_SHARED_DIR)`);
  }
  const reference: Record<string, string> = {
    "thirty-actions": "15–18 ms",
    "thirty-actions-github": "(network)",
    "disparities-comparison": "1.1 s",
  };
  const goal: Record<string, string> = {
    "thirty-actions": "< 4 ms",
    "thirty-actions-github": "a small constant of git processes",
    "disparities-comparison": "< 50 ms (SQLite), < 150 ms (PostgreSQL), over HTTP",
  };
  const f = (n: number) => n.toFixed(1);
  console.log(
    "| case | database | jobs | median ms | min ms | over HTTP ms | insert only ms | HTTP × insert only | cold ms | git procs/create | uncached git read ms | uncached parse ms | reference | goal |",
  );
  console.log("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|");
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${DIALECT_NAMES[r.database]} | ${r.jobs} | ${f(r.medianMs)} | ${f(r.minMs)} | ${f(r.httpMedianMs)} | ${f(r.insertOnlyMs)} | ${f(r.httpMedianMs / r.insertOnlyMs)} | ${f(r.coldMs)} | ${r.gitProcessesPerCreate} | ${f(r.gitReadMs)} | ${f(r.parseMs)} | ${reference[r.name]} | ${goal[r.name]} |`,
    );
  }
  writeDocsSection("bench:create", "Creating RAPs", docsTable(rows, dialects, reference, goal, loadAtStart));
  mkdirSync(join(repoRoot, "bench/results"), { recursive: true });
  writeFileSync(
    join(repoRoot, "bench/results/create.json"),
    `${JSON.stringify({ runs: RUNS, rows }, null, 2)}\n`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}

type Row = Awaited<ReturnType<typeof measureCase>>;

/** Per case, each database's figures side by side (ms), and PostgreSQL's median over SQLite's. */
function docsTable(
  rows: readonly Row[],
  dialects: readonly Dialect[],
  reference: Record<string, string>,
  goal: Record<string, string>,
  loadAtStart: number,
): string {
  const f = (n: number) => `${n.toFixed(1)} ms`;
  const names = dialects.map((d) => DIALECT_NAMES[d]);
  const per = (label: string) => names.map((n) => `${label}, ${n}`);
  const both = dialects.length > 1;
  const header = [
    "case",
    "jobs",
    ...per("median"),
    ...(both ? ["PostgreSQL ÷ SQLite"] : []),
    ...per("min"),
    ...per("over HTTP"),
    ...per("insert only"),
    ...per("cold"),
    "git processes per create",
    "reference",
    "goal",
  ];
  const lines = [
    `| ${header.join(" | ")} |`,
    `|---|${header
      .slice(1)
      .map(() => "---:")
      .join("|")}|`,
  ];
  for (const name of [...new Set(rows.map((r) => r.name))]) {
    const of = dialects.map((d) => rows.find((r) => r.name === name && r.database === d)!);
    const pick = (value: (r: Row) => number) => of.map((r) => f(value(r)));
    lines.push(
      `| ${[
        name,
        of[0]!.jobs.toLocaleString("en"),
        ...pick((r) => r.medianMs),
        ...(both ? [(of[1]!.medianMs / of[0]!.medianMs).toFixed(2)] : []),
        ...pick((r) => r.minMs),
        ...pick((r) => r.httpMedianMs),
        ...pick((r) => r.insertOnlyMs),
        ...pick((r) => r.coldMs),
        of[0]!.gitProcessesPerCreate,
        reference[name],
        goal[name],
      ].join(" | ")} |`,
    );
  }
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}`;
  const date = new Date().toISOString().slice(0, 10);
  return [
    `Measured by \`npm run bench:create\` on ${date}, ${machine}. \`createJobs\` as the server runs it (parsed-project`,
    "cache, real git repositories), warm git cache: creates per case after a first, cold one; each create a new RAP",
    "for `run_all` in a new workspace, so every action becomes a job. Over HTTP: the same create as `POST rap/create/`",
    "to the API server on loopback (without its scheduler loop), answer read. Insert only, from the same run: the same",
    "jobs inserted in one transaction and nothing else. The three take turns, one of each per round. Medians of",
    `${RUNS} rounds (5 for the corpus project), on`,
    `${both ? "an SQLite file and a local PostgreSQL server, same run" : "an SQLite file (PostgreSQL skipped: no server named)"}; ` +
      `load average when the run began: ${loadAtStart.toFixed(1)} (on ${cpus().length} cores).`,
    "",
    ...lines,
  ].join("\n");
}
