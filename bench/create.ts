/**
 * Time per RAP create with a warm git cache: a 30-action project and the largest corpus project (run_all → every
 * action a new job), through the create pipeline against a real SQLite database and a real local git repository.
 * Also counts git processes per create, and times what a create saves when the project is cached (reading
 * project.yaml from git, parsing it) so the total can be read against those parts. Results go to bench/results/create.json.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../src/config/index.js";
import { openDatabase } from "../src/db/index.js";
import { gitProcessCounts, readFileFromRepo } from "../src/git/index.js";
import { createJobs } from "../src/jobs/create.js";
import { gitSettingsFor } from "../src/jobs/git-settings.js";
import { ProjectCache } from "../src/jobs/project-cache.js";
import type { CreateRequest } from "../src/jobs/request.js";
import { parseProject } from "../src/pipeline/index.js";

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
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

function makeRepo(dir: string, projectYaml: string): string {
  mkdirSync(dir, { recursive: true });
  const run = (...args: string[]) =>
    execFileSync("git", args, {
      cwd: dir,
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: "b",
        GIT_AUTHOR_EMAIL: "b@b",
        GIT_COMMITTER_NAME: "b",
        GIT_COMMITTER_EMAIL: "b@b",
      },
    });
  run("init", "-q", "-b", "main");
  writeFileSync(join(dir, "project.yaml"), projectYaml);
  run("add", "project.yaml");
  run("commit", "-q", "-m", "project");
  return run("rev-parse", "HEAD").toString().trim();
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function measureCase(name: string, projectYaml: string, work: string, runs: number) {
  const repo = join(work, name);
  const commit = makeRepo(repo, projectYaml);
  const config = loadConfig({
    BACKENDS: "test",
    WORKDIR: join(work, `${name}-workdir`),
    ALLOW_LOCAL_GIT_REPOS: "true",
  });
  const git = gitSettingsFor(config);
  const db = await openDatabase(config.database, { migrate: true });
  let counter = 0;
  const request = (): CreateRequest => ({
    rapId: `bench${String(++counter).padStart(11, "0")}`,
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
  const deps = { db, git, backends: config.backends, projects: new ProjectCache() };

  const coldStarted = performance.now();
  const first = await createJobs(deps, request());
  const coldMs = performance.now() - coldStarted;
  const jobs = first.kind === "created" ? first.jobs.length : 0;

  const totals: number[] = [];
  const gitProcesses: number[] = [];
  for (let i = 0; i < runs; i++) {
    const before = gitProcessCounts().total;
    const started = performance.now();
    await createJobs(deps, request());
    totals.push(performance.now() - started);
    gitProcesses.push(gitProcessCounts().total - before);
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
  await db.destroy();
  const total = median(totals);
  const read = median(readTimes);
  const parse = median(parseTimes);
  return {
    name,
    jobs,
    coldMs,
    medianMs: total,
    minMs: Math.min(...totals),
    gitProcessesPerCreate: median(gitProcesses),
    gitReadMs: read,
    parseMs: parse,
  };
}

const work = mkdtempSync(join(tmpdir(), "rap-bench-create-"));
try {
  const rows = [await measureCase("thirty-actions", thirtyActionProject(), work, RUNS)];
  if (existsSync(corpusProject)) {
    rows.push(
      await measureCase(
        "disparities-comparison",
        readFileSync(corpusProject, "utf8"),
        work,
        Math.max(5, Math.floor(RUNS / 3)),
      ),
    );
  } else {
    console.warn(`skipping the corpus case: ${corpusProject} not found (set RAP_SHARED_DIR)`);
  }
  const reference: Record<string, string> = {
    "thirty-actions": "15–18 ms",
    "disparities-comparison": "1.1 s",
  };
  const goal: Record<string, number> = { "thirty-actions": 4, "disparities-comparison": 100 };
  const f = (n: number) => n.toFixed(1);
  console.log(
    "| case | jobs | median ms | min ms | cold ms | git procs/create | uncached git read ms | uncached parse ms | reference | goal |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|---|---|");
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${r.jobs} | ${f(r.medianMs)} | ${f(r.minMs)} | ${f(r.coldMs)} | ${r.gitProcessesPerCreate} | ${f(r.gitReadMs)} | ${f(r.parseMs)} | ${reference[r.name]} | < ${goal[r.name]} ms |`,
    );
  }
  mkdirSync(join(repoRoot, "bench/results"), { recursive: true });
  writeFileSync(
    join(repoRoot, "bench/results/create.json"),
    `${JSON.stringify({ runs: RUNS, rows }, null, 2)}\n`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
