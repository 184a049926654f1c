/**
 * Hostile output and full disks against the agent (issue 14, items 3, 4, 8): a real executor over real files (the
 * fake container runtime stands in for Docker, the job's program writing straight into its volume), each attack
 * measured on this checkout and, when HOSTILE_DISK_BASELINE names another checkout (e.g. a worktree of f882cf6 with
 * node_modules), on that one too, by running this same file there with `--json`. The full-disk attack mounts a
 * 32 MB tmpfs and needs root (skipped otherwise). Prints a table, writes bench/results/hostile-disk.json and the
 * `bench:hostile-disk` section of docs/benchmarks.md (not with --json). Run with `npm run bench:hostile-disk`.
 */
import { execFile, execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, open, readdir, readFile, rm, stat, statfs, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { jobLogDir, volumeDir, workspaceDir } from "../src/agent/workspace/paths.js";
import type { JobDefinition } from "../src/domain/task.js";
import { type AgentFixture, agentFixture } from "../test/agent/support.js";
import { writeDocsSection } from "./docs-section.js";

const ROOT = resolve(import.meta.dirname, "..");
const JSON_ONLY = process.argv.includes("--json");
const MiB = 1024 * 1024;
const run = promisify(execFile);
/** Precedes the rows on the stdout of a `--json` run. */
const ROWS_MARK = "hostile-disk rows: ";

interface Row {
  attack: string;
  /** How the job ended (state and message), or the error finalize threw. */
  outcome: string;
  /** Outputs saved of those the job made. */
  saved: string;
  /** Disk the attack left used (MiB), where it matters. */
  diskMiB: number | null;
  ms: number;
  note: string;
}

type Program = (ctx: { spec: { volumeDir: string } }) => Promise<number>;

/** Prepares, runs and finalizes a job; the outcome, or the error's first line. */
async function runJob(f: AgentFixture, job: JobDefinition, program: Program) {
  f.runtime.program = () => program;
  const ex = f.executor();
  const start = performance.now();
  let outcome: string;
  let outputs: Record<string, string> = {};
  try {
    await ex.prepare(job);
    await ex.execute(job);
    await f.runtime.finished(`os-job-${job.id}`);
    await ex.finalize(job);
    const status = await ex.getStatus(job);
    outputs = (status.results.outputs ?? {}) as Record<string, string>;
    outcome = `${status.state}, exit ${status.results.exit_code}: ${String(status.results.status_message)}`;
    await ex.cleanup(job);
  } catch (error) {
    // In the agent loop: retried with backoff, then reported as an agent error (internal_error).
    outcome = `throws ${String(error).split("\n")[0]!.slice(0, 110)}`;
  }
  return { outcome, outputs, ms: Math.round(performance.now() - start) };
}

/** Writes files whose names are raw bytes into the volume. */
function writesRaw(files: Array<[Buffer | string, Buffer | string]>): Program {
  return async ({ spec }) => {
    for (const [name, contents] of files) {
      const path = Buffer.concat([Buffer.from(`${spec.volumeDir}/`), Buffer.from(name)]);
      await mkdir(path.subarray(0, path.lastIndexOf("/")), { recursive: true });
      await writeFile(path, contents);
    }
    return 0;
  };
}

/** The allocated size of the files directly in `dir`. */
async function allocatedMiB(dir: string): Promise<number> {
  let blocks = 0;
  for (const name of await readdir(dir)) blocks += (await stat(join(dir, name))).blocks;
  return Math.round((blocks * 512) / MiB);
}

/** How many lines of the job's logs.txt read as the JOB SUMMARY header (more than one: a name forged one). */
async function summaryHeaders(f: AgentFixture, job: JobDefinition): Promise<string> {
  const logs = await readFile(join(jobLogDir(f.layout, job), "logs.txt"), "utf8").catch(() => null);
  if (logs === null) return "no logs.txt";
  const count = logs.split("\n").filter((line) => line === "=============JOB SUMMARY=============").length;
  return `${count} JOB SUMMARY header line(s) in logs.txt`;
}

async function hostileNames(rows: Row[]): Promise<void> {
  const f = await agentFixture();
  try {
    const names: Array<[string, Buffer | string]> = [
      ["not UTF-8 (0xff)", Buffer.from([...Buffer.from("output/bad"), 0xff, ...Buffer.from(".csv")])],
      ["backslash", "output/a\\..\\b.csv"],
      ["240-byte name", `output/${"n".repeat(236)}.csv`],
      ["newline + ANSI escape", "output/x\n=============JOB SUMMARY=============\nexit_code: 0\x1b[2K.csv"],
    ];
    for (const [label, name] of names) {
      const job = f.job({ output_spec: { "output/*.csv": "moderately_sensitive" } });
      const result = await runJob(
        f,
        job,
        writesRaw([
          ["output/good.csv", "a,b\n1,2\n"],
          [name, "a,b\n3,4\n"],
        ]),
      );
      rows.push({
        attack: `output name: ${label}`,
        outcome: result.outcome,
        saved: `${Object.keys(result.outputs).length} of 2`,
        diskMiB: null,
        ms: result.ms,
        note: await summaryHeaders(f, job),
      });
    }
  } finally {
    await f.cleanup();
  }
}

async function fullDisk(rows: Row[]): Promise<void> {
  if (process.getuid?.() !== 0) {
    rows.push({
      attack: "full disk",
      outcome: "skipped: needs root",
      saved: "",
      diskMiB: null,
      ms: 0,
      note: "",
    });
    return;
  }
  const mount = await mkdtemp(join(tmpdir(), "rap-bench-disk-"));
  await run("mount", ["-t", "tmpfs", "-o", `size=${32 * MiB}`, "tmpfs", mount]);
  const f = await agentFixture({
    HIGH_PRIVACY_STORAGE_BASE: join(mount, "high"),
    MEDIUM_PRIVACY_STORAGE_BASE: join(mount, "medium"),
  });
  try {
    const big = f.job({ output_spec: { "output/*.bin": "highly_sensitive" } });
    const first = await runJob(f, big, writesRaw([["output/big.bin", Buffer.alloc(20 * MiB, 1)]]));
    const usedMiB = async () => {
      const space = await statfs(mount);
      return Math.round(((space.blocks - space.bavail) * space.bsize) / MiB);
    };
    rows.push({
      attack: "full disk: a job writes 20 MiB on a 32 MiB disk",
      outcome: first.outcome,
      saved: `${Object.keys(first.outputs).length} of 1`,
      diskMiB: await usedMiB(),
      ms: first.ms,
      note: existsSync(volumeDir(f.layout, big.id)) ? "its volume is kept" : "its volume is deleted",
    });
    const small = f.job({ output_spec: { "output/*.csv": "highly_sensitive" } });
    const second = await runJob(f, small, writesRaw([["output/small.csv", Buffer.alloc(10 * MiB, 2)]]));
    rows.push({
      attack: "full disk: the next job (10 MiB)",
      outcome: second.outcome,
      saved: `${Object.keys(second.outputs).length} of 1`,
      diskMiB: await usedMiB(),
      ms: second.ms,
      note: "",
    });
  } finally {
    await f.cleanup();
    await run("umount", [mount]);
    await rm(mount, { recursive: true, force: true });
  }
}

async function sparseOutputs(rows: Row[]): Promise<void> {
  const f = await agentFixture();
  try {
    const job = f.job({ output_spec: { "output/*.bin": "highly_sensitive" } });
    const result = await runJob(f, job, async ({ spec }) => {
      await mkdir(join(spec.volumeDir, "output"), { recursive: true });
      for (const name of ["a", "b"]) {
        const file = await open(join(spec.volumeDir, "output", `${name}.bin`), "w");
        await file.truncate(1024 * MiB);
        await file.write(name, 512 * MiB);
        await file.close();
      }
      return 0;
    });
    rows.push({
      attack: "sparse outputs: two 1 GiB files, one byte of data each",
      outcome: result.outcome,
      saved: `${Object.keys(result.outputs).length} of 2`,
      diskMiB: await allocatedMiB(join(workspaceDir(f.layout, "high", job.workspace), "output")),
      ms: result.ms,
      note: "disk = the workspace copies' allocated blocks",
    });
  } finally {
    await f.cleanup();
  }
}

async function measure(): Promise<Row[]> {
  const rows: Row[] = [];
  await hostileNames(rows);
  await fullDisk(rows);
  await sparseOutputs(rows);
  return rows;
}

/** This file run in the baseline checkout, its rows read from its stdout. */
function baseline(dir: string): Row[] | null {
  if (!dir) return null;
  copyFileSync(import.meta.filename, join(dir, "bench", "hostile-disk.ts"));
  const out = execFileSync("npx", ["tsx", "bench/hostile-disk.ts", "--json"], {
    cwd: dir,
    encoding: "utf8",
    maxBuffer: 16 * MiB,
  });
  return JSON.parse(out.slice(out.indexOf(ROWS_MARK) + ROWS_MARK.length));
}

const commitOf = (dir: string) =>
  execFileSync("git", ["-C", dir, "rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();

const cell = (text: string) => text.replaceAll("|", "\\|").replace(/\s+/g, " ").trim();

async function main(): Promise<void> {
  const after = await measure();
  if (JSON_ONLY) {
    console.log(`${ROWS_MARK}${JSON.stringify(after)}`);
    return;
  }
  const baselineDir = process.env.HOSTILE_DISK_BASELINE ?? "";
  const before = baseline(baselineDir);
  const lines = [
    `Before: ${before ? `the same attacks on the checkout of ${commitOf(baselineDir)}` : "not measured (set HOSTILE_DISK_BASELINE)"}.`,
    "",
    "| attack | run | outcome | outputs saved | disk MiB | ms | note |",
    "|---|---|---|---:|---:|---:|---|",
  ];
  for (const [i, row] of after.entries()) {
    const old = before?.[i];
    for (const [label, r] of old
      ? ([
          ["before", old],
          ["after", row],
        ] as const)
      : ([["after", row]] as const)) {
      lines.push(
        `| ${cell(row.attack)} | ${label} | ${cell(r.outcome)} | ${r.saved} | ${r.diskMiB ?? ""} | ${r.ms} | ${cell(r.note)} |`,
      );
    }
  }
  const measured = lines.join("\n");
  console.log(measured);
  mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
  writeFileSync(
    join(ROOT, "bench", "results", "hostile-disk.json"),
    `${JSON.stringify({ before, after }, null, 2)}\n`,
  );
  writeDocsSection("bench:hostile-disk", "Hostile output and full disks (agent)", measured);
}

await main();
