/**
 * Hostile jobs against the agent's runtime and executor, on the real Docker engine: each attack runs in a worker
 * process of its own (bench/hostile-agent-worker.ts) so the code under test may die of it, and the bench reports
 * whether it survived, how long it took, its peak RSS (VmHWM, polled from /proc) and what it saw. With
 * HOSTILE_AGENT_BEFORE=<a checkout's src> (e.g. `git archive f882cf6 src | tar -x -C /tmp/orig`), every attack runs
 * against that code too (HOSTILE_AGENT_BEFORE_NAME names it in the docs), so each figure stands beside its baseline
 * from the same run. Writes
 * bench/results/hostile-agent.json and its section of docs/benchmarks.md.
 *
 * Attacks: a job printing HOSTILE_LOG_MB (default 600) MiB without a newline (past V8's longest string, ~512 MiB),
 * the local runtime's watcher under HOSTILE_LOCAL_LOG_MB (default 64) MiB without a newline,
 * a job forking 6,000 processes, a job whose container is removed (`docker rm -f`) while it runs and an agent that
 * restarts. Needs a Docker engine and the test image (scripts/build-test-images.sh).
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { writeDocsSection } from "./docs-section.js";

const ROOT = resolve(import.meta.dirname, "..");
const LOG_MB = Number(process.env.HOSTILE_LOG_MB ?? 600);
const FORKS = 6000;
/** The local runtime's watcher once gathered a line in one growing buffer: quadratic, so a smaller size tells. */
const LOCAL_LOG_MB = Number(process.env.HOSTILE_LOCAL_LOG_MB ?? 64);

interface Outcome {
  survived: boolean;
  seconds: number;
  peakRssMb: number | null;
  saw: Record<string, unknown> | null;
  error: string;
}

/** Runs one attack in a worker over `srcDir`, polling its peak RSS until it exits. */
function runWorker(srcDir: string, attack: string, size: number): Promise<Outcome> {
  return new Promise((done) => {
    const start = performance.now();
    const worker = spawn(
      process.execPath,
      ["--import", "tsx", join(ROOT, "bench", "hostile-agent-worker.ts"), srcDir, attack, String(size)],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let peakKb: number | null = null;
    const poll = setInterval(() => {
      try {
        const status = readFileSync(`/proc/${worker.pid}/status`, "utf8");
        const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
        if (hwm) peakKb = Math.max(peakKb ?? 0, Number(hwm[1]));
      } catch {
        // Exited between two polls.
      }
    }, 100);
    let stdout = "";
    let stderr = "";
    worker.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    worker.stderr.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-20_000);
    });
    worker.on("close", (code) => {
      clearInterval(poll);
      // A worker that died left its containers behind (the names it gives them carry its pid).
      const pid = String(worker.pid);
      const names = [`os-job-hostile${pid}`, `os-job-forks${pid}`, `os-job-hostile${pid.padStart(9, "0")}`];
      spawnSync("docker", ["rm", "-f", ...names], { stdio: "ignore" });
      const line = stdout.trim().split("\n").at(-1) ?? "";
      const errorLine = stderr.split("\n").find((l) => /Error|ERR_/.test(l)) ?? "";
      done({
        survived: code === 0,
        seconds: Math.round((performance.now() - start) / 100) / 10,
        peakRssMb: peakKb === null ? null : Math.round(peakKb / 1024),
        saw: code === 0 && line.startsWith("{") ? (JSON.parse(line) as Record<string, unknown>) : null,
        error: errorLine.trim().slice(0, 160),
      });
    });
  });
}

function describe(attack: string, outcome: Outcome): string {
  if (!outcome.survived) return `died: ${outcome.error || "no error printed"}`;
  const saw = outcome.saw ?? {};
  if (attack === "no-newline-log") {
    return `log of ${Number(saw.logChars).toLocaleString("en-US")} characters read in ${saw.readMs} ms${saw.note ? `; ${saw.note}` : ""}`;
  }
  if (attack === "local-no-newline-log") {
    return `job recorded as ended after ${saw.endedS} s; watcher peak RSS ${saw.watcherPeakRssMb} MB; ${Number(saw.logBytesOnDisk).toLocaleString("en-US")} bytes of log on disk; logs() ${Number(saw.logChars).toLocaleString("en-US")} characters`;
  }
  if (attack === "fork-bomb") return `${saw.forked} forks succeeded, ${saw.failed} failed`;
  return `ran ${saw.runs} time(s); exit_code ${saw.exitCode}; ${saw.statusMessage}; outputs ${JSON.stringify(saw.outputs)}`;
}

async function main(): Promise<void> {
  const before = process.env.HOSTILE_AGENT_BEFORE;
  const trees: Array<[string, string]> = [
    ...(before ? ([["before", before]] as Array<[string, string]>) : []),
    ["after", join(ROOT, "src")],
  ];
  const attacks: Array<[string, string, number]> = [
    ["no-newline-log", `${LOG_MB} MiB printed without a newline`, LOG_MB * 2 ** 20],
    ["local-no-newline-log", `local runtime: ${LOCAL_LOG_MB} MiB without a newline`, LOCAL_LOG_MB * 2 ** 20],
    ["fork-bomb", `${FORKS.toLocaleString("en-US")} forks in one job`, FORKS],
    ["removed-mid-run", "container removed mid-run, agent restarted", 0],
  ];
  const rows: Array<Record<string, unknown>> = [];
  for (const [attack, title, size] of attacks) {
    for (const [label, srcDir] of trees) {
      const outcome = await runWorker(srcDir, attack, size);
      rows.push({ attack: title, code: label, ...outcome, result: describe(attack, outcome) });
      console.error(JSON.stringify(rows.at(-1)));
    }
  }
  const lines = [
    "| attack | code | agent survived | s | agent peak RSS MB | what happened |",
    "|---|---|---|---:|---:|---|",
    ...rows.map(
      (r) =>
        `| ${r.attack} | ${r.code} | ${r.survived ? "yes" : "**no**"} | ${r.seconds} | ${r.peakRssMb ?? "?"} | ${String(r.result).replaceAll("|", "\\|")} |`,
    ),
  ];
  const table = lines.join("\n");
  console.log(table);
  mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
  writeFileSync(join(ROOT, "bench", "results", "hostile-agent.json"), `${JSON.stringify(rows, null, 2)}\n`);
  const beforeName = process.env.HOSTILE_AGENT_BEFORE_NAME ?? before;
  const baseline = before
    ? `"before" is ${beforeName}, "after" this tree, in the same run.`
    : "No baseline this run.";
  writeDocsSection("bench:hostile-agent", "Hostile jobs against the agent", `${baseline}\n\n${table}`);
}

await main();
