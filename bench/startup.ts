/**
 * `rap` start-up: the median wall time of RUNS spawns of `rap --help`, `rap migrate` and `rap tick` (on an empty,
 * migrated SQLite database), beside `node -e 0`, the floor, spawned in the same run and interleaved with them so a
 * busy machine slows all alike. Runs the built command (`npm run bench:startup` builds first), and beside it another
 * build named by BASELINE_CLI when set. Results go to
 * bench/results/startup.json and docs/benchmarks.md.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { writeDocsSection } from "./docs-section.js";

const RUNS = Number(process.env.RUNS ?? 21);
const repoRoot = resolve(import.meta.dirname, "..");
const cli = join(repoRoot, "dist", "cli", "main.js");
const workdir = mkdtempSync(join(tmpdir(), "rap-bench-startup-"));
const env = { PATH: process.env.PATH ?? "", WORKDIR: workdir, BACKENDS: "test" };

/** Another build of `rap` (BASELINE_CLI=…/dist/cli/main.js, e.g. of an earlier commit) measured in the same run. */
const baseline = process.env.BASELINE_CLI;
const commands = (label: string, main: string) => [
  { name: `rap --help${label}`, args: [main, "--help"] },
  { name: `rap migrate${label}`, args: [main, "migrate"] },
  { name: `rap tick${label}`, args: [main, "tick"] },
];
const cases: { name: string; args: string[] }[] = [
  { name: "node -e 0 (the floor)", args: ["-e", "0"] },
  ...commands("", cli),
  ...(baseline ? commands(" (baseline)", baseline) : []),
];

function spawnMs(args: string[]): number {
  const started = performance.now();
  const result = spawnSync(process.execPath, args, {
    env,
    cwd: workdir,
    stdio: ["ignore", "ignore", "pipe"],
  });
  const elapsed = performance.now() - started;
  if (result.status !== 0) throw new Error(`${args.join(" ")} exited ${result.status}: ${result.stderr}`);
  return elapsed;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const loadBefore = loadavg()[0]!;
spawnMs([cli, "migrate"]); // the database `rap tick` runs on
const times = new Map(cases.map((c) => [c.name, [] as number[]]));
for (let run = 0; run < RUNS; run++) for (const c of cases) times.get(c.name)!.push(spawnMs(c.args));
rmSync(workdir, { recursive: true, force: true });

const floor = median(times.get(cases[0]!.name)!);
const rows = cases.map((c) => {
  const values = times.get(c.name)!;
  return {
    command: c.name,
    medianMs: median(values),
    minMs: Math.min(...values),
    overFloor: median(values) / floor,
  };
});
const load = `load average ${loadBefore.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}`;
const lines = [
  `| command | median | min | × node -e 0 |`,
  `|---|---:|---:|---:|`,
  ...rows.map(
    (row) =>
      `| \`${row.command}\` | ${row.medianMs.toFixed(0)} ms | ${row.minMs.toFixed(0)} ms | ${row.overFloor.toFixed(1)} |`,
  ),
  "",
  `${RUNS} spawns of each, interleaved (Node ${process.version}, ${load}).`,
];
console.log(lines.join("\n"));

const out = join(repoRoot, "bench", "results", "startup.json");
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ node: process.version, runs: RUNS, load, rows }, null, 2)}\n`);
writeDocsSection("bench:startup", "`rap` start-up", lines.join("\n"));
