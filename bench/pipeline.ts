/**
 * project.yaml parse time: the three largest corpus files, the one with the most actions, and a typical
 * (median-sized) one. Each file is parsed a few times to warm up, then RUNS more times; the table shows the median,
 * minimum and maximum. The baseline, in the same process on the same text: the general-purpose `yaml` package
 * parsing it to plain values, with no validation at all; and the floor's order: `JSON.parse` of the same document
 * written as JSON. Results go to bench/results/pipeline.json too.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { parseProject } from "../src/pipeline/index.js";

const WARMUP = 5;
const RUNS = 21;

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const projectsDir = join(
  process.env.RAP_SHARED_DIR ?? resolve(repoRoot, "..", "shared"),
  "corpus",
  "projects",
);

interface Row {
  file: string;
  kind: string;
  bytes: number;
  actions: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** The baseline's median: the `yaml` package parsing the same text. */
  yamlPackageMs: number;
  /** The floor's order: `JSON.parse` of the same document as JSON. */
  jsonParseMs: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** RUNS timings of `parse` on `text`, after WARMUP untimed ones. */
function timings(parse: (text: string) => unknown, text: string): number[] {
  const time = (): number => {
    const started = performance.now();
    parse(text);
    return performance.now() - started;
  };
  for (let i = 0; i < WARMUP; i++) time();
  return Array.from({ length: RUNS }, time);
}

function measure(file: string, kind: string): Row {
  const text = readFileSync(join(projectsDir, file), "utf8");
  const times = timings(parseProject, text);
  return {
    file,
    kind,
    bytes: text.length,
    actions: parseProject(text).actions.size,
    medianMs: median(times),
    minMs: Math.min(...times),
    maxMs: Math.max(...times),
    // The reference's files have up to a few hundred aliases; the yaml package refuses more than its default.
    yamlPackageMs: median(timings((source) => parseYaml(source, { maxAliasCount: -1 }), text)),
    jsonParseMs: median(timings(JSON.parse, JSON.stringify(parseYaml(text, { maxAliasCount: -1 })))),
  };
}

// Files the reference accepts: a rejected file stops early and would flatter the numbers.
const candidates = readdirSync(projectsDir)
  .filter((name) => name.endsWith(".yaml"))
  .filter((name) => {
    const expected = JSON.parse(
      readFileSync(join(projectsDir, name.replace(/\.yaml$/, ".expected.json")), "utf8"),
    );
    return expected.ok === true;
  })
  .map((name) => ({ name, bytes: statSync(join(projectsDir, name)).size }))
  .sort((a, b) => b.bytes - a.bytes);
const typical = candidates[Math.floor(candidates.length / 2)];
if (typical === undefined) throw new Error(`no corpus files in ${projectsDir}`);
const actionCount = (name: string): number =>
  parseProject(readFileSync(join(projectsDir, name))).actions.size;
const mostActions = candidates.reduce((best, file) =>
  actionCount(file.name) > actionCount(best.name) ? file : best,
);

const largest = candidates.slice(0, 3);
const rows = largest.map(({ name }) => measure(name, "largest"));
if (!largest.includes(mostActions)) rows.push(measure(mostActions.name, "most actions"));
rows.push(measure(typical.name, "typical"));

const ms = (value: number): string => value.toFixed(1).padStart(8);
console.log(`project.yaml parser, ${RUNS} runs after ${WARMUP} warm-up parses (Node ${process.version})\n`);
console.log(
  `${"file".padEnd(38)} ${"kind".padEnd(12)} ${"size".padStart(9)} ${"actions".padStart(7)}` +
    "  median     min     max (ms)   yaml pkg   × yaml pkg  JSON.parse  × JSON.parse",
);
for (const row of rows) {
  console.log(
    `${row.file.padEnd(38)} ${row.kind.padEnd(12)} ${`${(row.bytes / 1024).toFixed(0)} KiB`.padStart(9)}` +
      `${String(row.actions).padStart(8)}${ms(row.medianMs)}${ms(row.minMs)}${ms(row.maxMs)}` +
      `${ms(row.yamlPackageMs)}${(row.medianMs / row.yamlPackageMs).toFixed(2).padStart(13)}` +
      `${ms(row.jsonParseMs).padStart(12)}${(row.medianMs / row.jsonParseMs).toFixed(1).padStart(14)}`,
  );
}

const out = join(repoRoot, "bench", "results", "pipeline.json");
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  `${JSON.stringify({ node: process.version, warmup: WARMUP, runs: RUNS, rows }, null, 2)}\n`,
);
console.log(`\nwritten to ${out}`);
