/**
 * `npm run bench:failover`: how long PostgreSQL replicas go without a scheduler when the lease holder dies. Each round
 * starts REPLICAS `rap controller` processes (the built CLI, default settings: SCHEDULER_LEASE_TTL 3 s,
 * JOB_LOOP_INTERVAL 1 s) on a fresh database of the bench server, finds the holder through `/readyz`, SIGKILLs it,
 * and times, from the kill: until a survivor's `/readyz` says it holds the lease, and until a survivor has run a pass
 * as holder (its log line "took the scheduler lease: running passes", written after that pass). Medians of ROUNDS.
 * PostgreSQL only: on SQLite there are no replicas. Prints the table, saves bench/results/failover.json and rewrites
 * the measured part of the "## Failover" section of docs/benchmarks.md.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { cliPath } from "../test/support/cli.js";
import { freePort } from "../test/support/ports.js";
import { writeDocsSection } from "./docs-section.js";
import { benchPostgresUrl, createBenchPostgres } from "./postgres.js";

const ROOT = resolve(import.meta.dirname, "..");
const REPLICAS = 3;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const TOOK_OVER = "took the scheduler lease: running passes";

interface Replica {
  url: string;
  child: ChildProcess;
  /** When each line of its output arrived (performance.now()), with the line. */
  lines: { at: number; text: string }[];
}

interface Round {
  leaseMs: number;
  passMs: number;
}

async function startReplica(databaseUrl: string, workdir: string): Promise<Replica> {
  const port = await freePort();
  const child = spawn(process.execPath, [cliPath, "controller"], {
    env: {
      PATH: process.env.PATH ?? "",
      BACKENDS: "test",
      TEST_CLIENT_TOKENS: "bench_token",
      TEST_JOB_SERVER_TOKEN: "bench_agent_token",
      RESOLVE_IMAGE_DIGESTS: "false",
      DATABASE_URL: databaseUrl,
      WORKDIR: workdir,
      PORT: String(port),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const replica: Replica = { url: `http://127.0.0.1:${port}`, child, lines: [] };
  for (const stream of [child.stdout!, child.stderr!]) {
    let partial = "";
    stream.on("data", (chunk: Buffer) => {
      const at = performance.now();
      const parts = (partial + chunk.toString()).split("\n");
      partial = parts.pop()!;
      for (const text of parts) replica.lines.push({ at, text });
    });
  }
  return replica;
}

async function holdsLease(replica: Replica): Promise<boolean> {
  try {
    const answer = (await (await fetch(`${replica.url}/readyz`)).json()) as { scheduler_lease?: boolean };
    return answer.scheduler_lease === true;
  } catch {
    return false;
  }
}

async function until<T>(what: string, find: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const found = await find();
    if (found !== undefined) return found;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function round(dir: string, index: number): Promise<Round> {
  const database = await createBenchPostgres();
  const replicas: Replica[] = [];
  try {
    for (let i = 0; i < REPLICAS; i++)
      replicas.push(await startReplica(database.location.url, join(dir, `round-${index}-replica-${i}`)));
    const holder = await until("a lease holder", async () => {
      for (const replica of replicas) if (await holdsLease(replica)) return replica;
      return undefined;
    });
    // Let it settle into its loop (a renewal between passes, as in service) before it dies.
    await sleep(1500);
    const killedAt = performance.now();
    holder.child.kill("SIGKILL");
    const survivors = replicas.filter((replica) => replica !== holder);
    const leaseAt = await until("a survivor holding the lease", async () => {
      for (const replica of survivors) if (await holdsLease(replica)) return performance.now();
      return undefined;
    });
    const passAt = await until(
      "a survivor's pass",
      async () =>
        survivors.flatMap((replica) => replica.lines).find((line) => line.text.includes(TOOK_OVER))?.at,
    );
    return { leaseMs: leaseAt - killedAt, passMs: passAt - killedAt };
  } finally {
    for (const replica of replicas) {
      if (replica.child.exitCode === null && replica.child.signalCode === null) {
        const exited = new Promise((done) => replica.child.once("exit", done));
        replica.child.kill("SIGKILL");
        await exited;
      }
    }
    await database.drop();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function main(): Promise<void> {
  if (!benchPostgresUrl()) {
    console.warn(
      'bench:failover needs PostgreSQL: set RAP_BENCH_POSTGRES_URL or RAP_TEST_POSTGRES_URL (eval "$(bash scripts/start-test-postgres.sh)" starts a server)',
    );
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "rap-bench-failover-"));
  const loadAtStart = loadavg()[0]!;
  try {
    const rounds: Round[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      rounds.push(await round(dir, i));
      console.log(JSON.stringify(rounds.at(-1)));
    }
    const loadAtEnd = loadavg()[0]!;
    const machine = `${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}`;
    const date = new Date().toISOString().slice(0, 10);
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    const range = (values: number[]) => `${s(Math.min(...values))} – ${s(Math.max(...values))}`;
    const leases = rounds.map((r) => r.leaseMs);
    const passes = rounds.map((r) => r.passMs);
    const rendered = [
      "| from the SIGKILL of the holder until | median | min – max | goal |",
      "|---|---:|---:|---:|",
      `| a survivor's /readyz says it holds the lease | ${s(median(leases))} | ${range(leases)} | |`,
      `| a survivor has run a pass as holder | ${s(median(passes))} | ${range(passes)} | < 5 s |`,
    ].join("\n");
    console.log(`\n${rendered}\n\n(${machine})`);
    mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
    writeFileSync(
      join(ROOT, "bench", "results", "failover.json"),
      `${JSON.stringify({ date, machine, replicas: REPLICAS, loadAtStart, loadAtEnd, rounds }, null, 2)}\n`,
    );
    writeDocsSection(
      "bench:failover",
      "Failover",
      [
        `Measured by \`npm run bench:failover\` on ${date}, ${machine}: ${REPLICAS} \`rap controller\` processes`,
        "(the built CLI, default settings: SCHEDULER_LEASE_TTL 3 s, JOB_LOOP_INTERVAL 1 s) on a fresh database of a local",
        "PostgreSQL server each round; the lease holder, found through `/readyz`, SIGKILLed 1.5 s after it took the lease.",
        `Medians of ${ROUNDS} rounds. Load average: ${loadAtStart.toFixed(1)} when the run began, ${loadAtEnd.toFixed(1)} when it ended (on ${cpus().length} cores).`,
        "",
        rendered,
      ].join("\n"),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
