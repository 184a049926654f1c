/**
 * `npm run bench:create-commit`: a create of a 25-action project (`run_all`, 25 jobs) at a commit the controller has
 * not seen, over HTTP (`POST rap/create/`, as job-server sends it), against the floor: fetching that commit into a
 * bare repository of the bench's own (`git fetch --depth 1`, as the cache does) and reading project.yaml from it
 * through a long-lived `git cat-file --batch` (the same reader the server uses, src/git/blob-reader.ts). Each round
 * commits a new project.yaml to a local study repository (ALLOW_LOCAL_GIT_REPOS, as `rap serve` allows; outside the
 * timings), then times the create and the floor, in alternating order. Goal: under 10 ms over the floor. SQLite, and
 * PostgreSQL when a server is named (bench/postgres.ts). Prints the table, writes bench/results/create-commit.json
 * and the docs section.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type DatabaseLocation, loadConfig } from "../src/config/index.js";
import { openStorage } from "../src/db/open.js";
import { closeBlobReaders, readBlob } from "../src/git/blob-reader.js";
import { gitEnv } from "../src/git/env.js";
import { gitProcessCounts } from "../src/git/index.js";
import { appOnStorage } from "../test/http/support.js";
import { commitFiles, createStudyRepo } from "../test/support/git-fixtures.js";
import { runAllCreateBody } from "./create-body.js";
import { writeDocsSection } from "./docs-section.js";
import { benchDialects, createBenchPostgres, DIALECT_NAMES, type Dialect } from "./postgres.js";
import { median } from "./stats.js";

const RUNS = Number(process.env.BENCH_RUNS ?? 21);
const TOKEN = "bench-token";
const WARMUP = 10;
const GOAL_MS = 10;
const ROOT = resolve(import.meta.dirname, "..");

/** 25 actions: a dataset, 23 steps that need it, a report that needs them all; `round` makes each commit new. */
function project(round: number): string {
  const steps = Array.from({ length: 23 }, (_, i) => `step_${i}`);
  return `# round ${round}
version: "4.0"
actions:
  generate_dataset:
    run: ehrql:v1 generate-dataset analysis/dataset_definition.py --output output/dataset.csv.gz
    outputs: {highly_sensitive: {dataset: output/dataset.csv.gz}}
${steps
  .map(
    (step) => `  ${step}:
    run: python:v2 analysis/${step}.py
    needs: [generate_dataset]
    outputs: {moderately_sensitive: {table: output/${step}.csv}}
`,
  )
  .join("")}  report:
    run: python:v2 analysis/report.py
    needs: [${steps.join(", ")}]
    outputs: {moderately_sensitive: {report: output/report.html}}
`;
}

async function measure(work: string, location: DatabaseLocation) {
  const dir = mkdtempSync(join(work, `${location.dialect}-`));
  const repo = await createStudyRepo({ path: join(dir, "study"), files: { "project.yaml": project(0) } });
  const config = loadConfig({
    BACKENDS: "test",
    TEST_CLIENT_TOKENS: TOKEN,
    WORKDIR: join(dir, "workdir"),
    ALLOW_LOCAL_GIT_REPOS: "true",
  });
  if (location.dialect === "sqlite") mkdirSync(resolve(location.path, ".."), { recursive: true });
  const storage = await openStorage(location, { migrate: true, backgroundCheckpoints: true });
  const { app } = await appOnStorage(storage, config);
  await app.listen({ host: "127.0.0.1", port: 0 });
  const { port } = app.server.address() as { port: number };
  const url = `http://127.0.0.1:${port}/controller/v1/rap/create/`;
  const floorDir = join(dir, "floor.git");
  execFileSync("git", ["init", "--bare", "--quiet", floorDir]);
  const floorRead = {
    gitDir: floorDir,
    cwd: dir,
    env: gitEnv({ reposDir: dir, gitDir: floorDir }),
    timeoutMs: 60_000,
  };

  const rounds: Array<{ createMs: number; floorMs: number; fetchMs: number; gitProcesses: number }> = [];
  let rapCount = 0;
  const create = async (commit: string) => {
    const rapId = `newcommit${String(++rapCount).padStart(7, "0")}`;
    const started = performance.now();
    const answer = await fetch(url, {
      method: "POST",
      headers: { authorization: TOKEN, "content-type": "application/json" },
      body: JSON.stringify(runAllCreateBody({ rapId, workspace: `ws-${rapId}`, repoUrl: repo.path, commit })),
    });
    const body = await answer.text();
    const ms = performance.now() - started;
    if (answer.status !== 201) throw new Error(`rap/create answered ${answer.status}: ${body}`);
    return ms;
  };
  const floor = async (commit: string) => {
    const started = performance.now();
    execFileSync("git", [
      `--git-dir=${floorDir}`,
      "fetch",
      "--quiet",
      "--no-tags",
      "--no-write-fetch-head",
      "--depth",
      "1",
      "--",
      repo.path,
      `+${commit}:refs/tags/fetched/${commit}`,
    ]);
    const fetchedMs = performance.now() - started;
    const answer = await readBlob(`${commit}:project.yaml`, floorRead);
    const ms = performance.now() - started;
    if (answer.kind !== "blob" || !answer.bytes.toString("utf8").startsWith("# round"))
      throw new Error("the floor read the wrong blob");
    return { ms, fetchMs: fetchedMs };
  };

  // Unmeasured rounds first: a running server has parsed and created many times (the code is optimised), and
  // git's first fetch warms the file cache.
  for (let round = 1; round <= WARMUP + RUNS; round++) {
    const commit = await commitFiles(repo.path, { "project.yaml": project(round) }, `round ${round}`);
    const before = gitProcessCounts().total;
    let createMs: number;
    let floorResult: { ms: number; fetchMs: number };
    if (round % 2 === 0) {
      createMs = await create(commit);
      floorResult = await floor(commit);
    } else {
      floorResult = await floor(commit);
      createMs = await create(commit);
    }
    const gitProcesses = gitProcessCounts().total - before;
    if (round > WARMUP)
      rounds.push({ createMs, floorMs: floorResult.ms, fetchMs: floorResult.fetchMs, gitProcesses });
  }
  await app.close();
  // The floor's reader and the server's, both under the case's directory.
  await closeBlobReaders(dir);
  await storage.close();
  return {
    database: location.dialect,
    createMs: median(rounds.map((r) => r.createMs)),
    floorMs: median(rounds.map((r) => r.floorMs)),
    fetchMs: median(rounds.map((r) => r.fetchMs)),
    overFloorMs: median(rounds.map((r) => r.createMs - r.floorMs)),
    gitProcesses: median(rounds.map((r) => r.gitProcesses)),
  };
}

const work = mkdtempSync(join(tmpdir(), "rap-bench-create-commit-"));
const loadBefore = loadavg()[0]!;
const results = [];
try {
  for (const dialect of benchDialects() as Dialect[]) {
    if (dialect === "sqlite") {
      results.push(await measure(work, { dialect, path: join(work, "sqlite", "db.sqlite") }));
    } else {
      const postgres = await createBenchPostgres();
      try {
        results.push(await measure(work, postgres.location));
      } finally {
        await postgres.drop();
      }
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const f = (ms: number) => `${ms.toFixed(1)} ms`;
const table = [
  "| database | create over HTTP | floor: fetch + read | of which the fetch | create − floor (median of rounds) | git processes per create | goal |",
  "|---|---:|---:|---:|---:|---:|---|",
  ...results.map(
    (r) =>
      `| ${DIALECT_NAMES[r.database]} | ${f(r.createMs)} | ${f(r.floorMs)} | ${f(r.fetchMs)} | **${f(r.overFloorMs)}** | ${r.gitProcesses} | < ${GOAL_MS} ms over the floor: ${r.overFloorMs < GOAL_MS ? "met" : "not met"} |`,
  ),
].join("\n");
const date = new Date().toISOString().slice(0, 10);
const section = [
  `Measured ${date} (${cpus().length} cores, load ${loadBefore.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}), medians of ${RUNS} rounds after ${WARMUP} unmeasured ones, each a new commit of a 25-action project.yaml to a local study repository, then the create (\`POST rap/create/\`, \`run_all\`: 25 jobs) and the floor in alternating order. Floor: \`git fetch --depth 1\` of the same commit into a bare repository of the bench's own, and project.yaml read from it through a \`git cat-file --batch\` started once for the run.`,
  "",
  table,
].join("\n");
console.log(table);
writeDocsSection("bench:create-commit", "A create at a commit not seen before (issue 18)", section);
mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
writeFileSync(
  join(ROOT, "bench", "results", "create-commit.json"),
  `${JSON.stringify({ runs: RUNS, results }, null, 2)}\n`,
);
