/**
 * What the agent's container runtime adds to running a job. The baseline, from the same run, is a bare
 * `docker run --rm` of the same image and command (the "~0.26 s bare container run"); against it, the
 * DockerRuntime's whole lifecycle of a job container: ensure the image, start (hardened as a job), poll `inspect`
 * until it has exited (every 10 ms, far tighter than the agent's loop tick, so this measures the runtime and not the
 * loop), inspect once more, read the logs, remove. The goal: under 300 ms more than the bare run. The local runtime
 * is timed the same way against a bare `python3 -c pass`. Results go to bench/results/agent-runtime.json.
 *
 * Needs a Docker engine and the test image (scripts/build-test-images.sh).
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { DockerRuntime } from "../src/agent/runtime/docker.js";
import { LocalRuntime } from "../src/agent/runtime/local.js";
import type { ContainerSpec, Runtime } from "../src/agent/runtime/types.js";

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const IMAGE = "ghcr.io/opensafely-core/python:v2";
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const run = promisify(execFile);
/** One PATH for both local cases, so a shim earlier on the developer's PATH cannot skew either. */
const LOCAL_PATH = "/usr/local/bin:/usr/bin:/bin";

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function time(action: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await action();
  return performance.now() - started;
}

const STEPS = ["ensureImage", "start", "until exited", "inspect", "logs", "remove"] as const;
type Step = (typeof STEPS)[number];

/** One job's lifecycle through a runtime, timed step by step. */
async function lifecycle(runtime: Runtime, volumeDir: string, i: number): Promise<Record<Step, number>> {
  const name = `os-job-bench${process.pid}x${i}`;
  const spec: ContainerSpec = {
    name,
    image: IMAGE,
    args: ["-c", "pass"],
    env: { OPENSAFELY_BACKEND: "test" },
    volumeDir,
    cpuCount: 2,
    memoryLimit: "4G",
    network: { kind: "none" },
    user: null,
    labels: { workspace: "bench", action: "bench" },
  };
  const steps = {} as Record<Step, number>;
  steps.ensureImage = await time(() => runtime.ensureImage(IMAGE, null));
  steps.start = await time(() => runtime.start(spec));
  steps["until exited"] = await time(async () => {
    while ((await runtime.inspect(name))?.running !== false) await new Promise((r) => setTimeout(r, 10));
  });
  steps.inspect = await time(() => runtime.inspect(name));
  steps.logs = await time(() => runtime.logs(name));
  steps.remove = await time(() => runtime.remove(name));
  return steps;
}

async function measure(runtime: Runtime, bare: () => Promise<unknown>, volumeDir: string) {
  // One of each first, so image layers, page cache and the daemon are warm for both.
  await bare();
  await lifecycle(runtime, volumeDir, -1);
  const bareTimes: number[] = [];
  const totals: number[] = [];
  const perStep: Record<Step, number[]> = Object.fromEntries(STEPS.map((s) => [s, []])) as never;
  // Interleaved, so a busy moment on the shared machine hits both alike.
  for (let i = 0; i < RUNS; i++) {
    bareTimes.push(await time(bare));
    const steps = await lifecycle(runtime, volumeDir, i);
    totals.push(STEPS.reduce((sum, s) => sum + steps[s], 0));
    for (const s of STEPS) perStep[s].push(steps[s]);
  }
  const bareMs = median(bareTimes);
  const totalMs = median(totals);
  return {
    runtime: runtime.kind,
    bareMs,
    totalMs,
    overheadMs: totalMs - bareMs,
    steps: Object.fromEntries(STEPS.map((s) => [s, median(perStep[s])])) as Record<Step, number>,
  };
}

const work = mkdtempSync(join(tmpdir(), "rap-bench-runtime-"));
try {
  const docker = new DockerRuntime();
  if (!(await docker.ping())) throw new Error("no Docker engine answers on /var/run/docker.sock");
  const rows = [
    await measure(
      docker,
      () => run("docker", ["run", "--rm", "--network", "none", IMAGE, "-c", "pass"]),
      mkdtempSync(join(work, "docker-")),
    ),
    await measure(
      new LocalRuntime({ stateDir: join(work, "local-state"), path: LOCAL_PATH }),
      () => run("python3", ["-c", "pass"], { env: { PATH: LOCAL_PATH } }),
      mkdtempSync(join(work, "local-")),
    ),
  ];
  const f = (n: number) => n.toFixed(0);
  console.log(`Median of ${RUNS} runs, ms. Bare: docker run --rm (docker) / python3 -c pass (local).`);
  console.log(`| runtime | bare | runtime total | overhead | goal | ${STEPS.join(" | ")} |`);
  console.log(`|---|---:|---:|---:|---|${STEPS.map(() => "---:").join("|")}|`);
  for (const r of rows) {
    const goal = r.runtime === "docker" ? "< 300" : "";
    console.log(
      `| ${r.runtime} | ${f(r.bareMs)} | ${f(r.totalMs)} | ${f(r.overheadMs)} | ${goal} | ${STEPS.map((s) => f(r.steps[s])).join(" | ")} |`,
    );
  }
  mkdirSync(join(repoRoot, "bench/results"), { recursive: true });
  writeFileSync(
    join(repoRoot, "bench/results/agent-runtime.json"),
    `${JSON.stringify({ runs: RUNS, rows }, null, 2)}\n`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
