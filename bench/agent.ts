/**
 * What the agent adds to each job: its whole handling of a RUNJOB task (checkout and inputs, the container through
 * the Docker runtime, outputs, level 4, manifest, logs, metadata, cleanup, and every Task API report over HTTP)
 * against a bare `docker run --rm` of the same image and command, timed in the same run. The agent runs its real
 * loop (JOB_LOOP_INTERVAL=0, so it polls every 50 ms) against a stand-in of the controller's Task API on
 * 127.0.0.1 (test/agent/fake-controller.ts), so the controller's scheduler is not measured. Cases:
 *
 *   - one job at a time;
 *   - 20 jobs at once (wall time of the batch, against 20 bare runs at once; per job = difference / 20);
 *   - a job producing 1,000 small output files, and a job taking those 1,000 files as inputs.
 *
 * With a Slurm cluster answering `sinfo` (scripts/start-test-slurm.sh), the same one job and 20 jobs at once again
 * with EXECUTOR=slurm, against a bare `sbatch` of a script running the same `docker run --rm`: waited for with
 * `sbatch --wait`, and submitted then polled every 50 ms (as the agent polls), the fairer baseline.
 *
 * Goals: under 300 ms of overhead per job; for the 1,000-file cases (issue 18), what the files add to a job (its
 * overhead over the one-job case's, same run) at most 1.2 × `cp -r` of the same files, timed between the runs. Writes bench/results/agent.json and the "## Agent" section of
 * docs/benchmarks.md (between markers). Needs a Docker engine and the test images (scripts/build-test-images.sh).
 */
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createAgent, slurmRuntimeOptions } from "../src/agent/index.js";
import { silentLogger } from "../src/agent/log.js";
import type { TaskApi } from "../src/agent/loop.js";
import { DockerRuntime } from "../src/agent/runtime/docker.js";
import { SlurmRuntime } from "../src/agent/runtime/slurm.js";
import { TaskApiClient } from "../src/agent/task-api.js";
import { loadAgentConfig } from "../src/config/agent.js";
import type { AgentTask, JobDefinition, TaskUpdate } from "../src/domain/task.js";
import { FakeController } from "../test/agent/fake-controller.js";
import { createStudyRepo } from "../test/support/git-fixtures.js";
import { jobDefinition, runJobTask } from "../test/support/job-definitions.js";
import { slurmRequirement } from "../test/support/requirements.js";
import { writeDocsSection } from "./docs-section.js";

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const BATCH_RUNS = Number(process.env.BENCH_BATCH_RUNS ?? 3);
const BATCH = 20;
const MANY_FILES = 1000;
const IMAGE = "ghcr.io/opensafely-core/python:v2";
const GOAL_MS = 300;
/** The 1,000-file cases' goal: the files' cost at most this many times `cp -r` of them. */
const COPY_GOAL_RATIO = 1.2;
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const run = promisify(execFile);
// The same Python for the agent's job and the bare run: it writes one output file (one name per job, as each
// action of a workspace has its own outputs).
const oneOutput = (n: number) =>
  `import os; os.makedirs('output', exist_ok=True); open('output/out${n}.txt', 'w').write('x')`;
const MANY_OUTPUTS =
  "import os; os.makedirs('output/many', exist_ok=True)\n" +
  `for i in range(${MANY_FILES}): open('output/many/f%04d.txt' % i, 'w').write(str(i))`;
const READ_INPUTS =
  "import os; n = len(os.listdir('output/many')); os.makedirs('output', exist_ok=True); " +
  "open('output/count.txt', 'w').write(str(n))";

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** The real Task API client, noting when each update of each task was sent and answered. */
class TimedApi implements TaskApi {
  readonly answered = new Map<string, Map<string, number>>();
  constructor(private readonly client: TaskApi) {}
  getTasks(signal?: AbortSignal): Promise<AgentTask[]> {
    return this.client.getTasks(signal);
  }
  async update(update: TaskUpdate, signal?: AbortSignal): Promise<void> {
    await this.client.update(update, signal);
    const stages = this.answered.get(update.task_id) ?? new Map<string, number>();
    stages.set(update.complete ? "complete" : update.stage, performance.now());
    this.answered.set(update.task_id, stages);
  }
  /** Resolves once the task's completing update has been answered. */
  async completed(taskId: string): Promise<Map<string, number>> {
    for (;;) {
      const stages = this.answered.get(taskId);
      if (stages?.has("complete")) return stages;
      await new Promise((r) => setTimeout(r, 2));
    }
  }
}

interface JobTiming {
  total: number;
  prepare: number;
  finalize: number;
}

const work = mkdtempSync(join(tmpdir(), "rap-bench-agent-"));
const controller = await new FakeController("test", "bench-token").start();
const abort = new AbortController();
try {
  const docker = new DockerRuntime();
  if (!(await docker.ping())) throw new Error("no Docker engine answers on /var/run/docker.sock");
  const repo = await createStudyRepo({ path: join(work, "study"), files: { "README.md": "bench\n" } });
  const workdir = join(work, "agent");
  const agentEnv = {
    BACKENDS: "test",
    BACKEND: "test",
    CONTROLLER_TASK_API_ENDPOINT: controller.url,
    CONTROLLER_TASK_API_TOKEN: controller.token,
    WORKDIR: workdir,
    ALLOW_LOCAL_GIT_REPOS: "true",
    EXECUTOR: "docker",
    JOB_LOOP_INTERVAL: "0",
  };
  const config = loadAgentConfig(agentEnv, workdir);
  const api = new TimedApi(
    new TaskApiClient({
      endpoint: config.taskApiEndpoint,
      backend: config.backend,
      token: config.taskApiToken,
      log: silentLogger,
    }),
  );
  const agent = createAgent(config, docker, { log: silentLogger, api });
  let running = agent.loop.run(abort.signal);

  let counter = 0;
  const definition = (
    code: string,
    outputs: Record<string, string>,
    inputJobIds: string[] = [],
  ): JobDefinition => {
    counter += 1;
    const id = `bench${process.pid.toString(36)}x${counter}`.padEnd(16, "a").slice(0, 16);
    return jobDefinition(repo, {
      id,
      rap_id: "benchbenchbench1",
      workspace: "bench",
      action: `a${counter}`,
      created_at: Math.floor(Date.now() / 1000),
      image: IMAGE,
      args: ["-c", code],
      input_job_ids: inputJobIds,
      output_spec: outputs,
      user: "bench",
    });
  };
  const task = (job: JobDefinition) => runJobTask(job, { createdAt: Math.floor(Date.now() / 1000) });

  /** Offers the jobs' tasks at once; resolves with each job's timing once all are complete. */
  const agentRun = async (jobs: JobDefinition[]): Promise<{ wall: number; jobs: JobTiming[] }> => {
    const offered = performance.now();
    controller.tasks.push(...jobs.map(task));
    const timings = await Promise.all(
      jobs.map(async (job) => {
        const stages = await api.completed(job.task_id);
        const final = controller.updatesOf(job.task_id).at(-1);
        if (final?.stage !== "finalized" || final.results.exit_code !== "0") {
          throw new Error(`job ${job.id} did not succeed: ${JSON.stringify(final)}`);
        }
        return {
          total: stages.get("complete")! - offered,
          prepare: stages.get("prepared")! - stages.get("preparing")!,
          finalize: stages.get("complete")! - stages.get("finalizing")!,
        };
      }),
    );
    return { wall: performance.now() - offered, jobs: timings };
  };
  /**
   * `count` bare runs at once, each with a directory bind-mounted at /workspace as the agent's job gets its volume
   * (a fresh empty one, or a copy of `template`, made before the clock starts).
   */
  const bare = async (code: string, count = 1, template?: string): Promise<number> => {
    const dirs = Array.from({ length: count }, () => mkdtempSync(join(work, "bare-")));
    if (template) for (const dir of dirs) cpSync(template, dir, { recursive: true });
    const started = performance.now();
    await Promise.all(
      dirs.map((dir) =>
        run("docker", ["run", "--rm", "--network", "none", "-v", `${dir}:/workspace`, IMAGE, "-c", code]),
      ),
    );
    const elapsed = performance.now() - started;
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    return elapsed;
  };
  const oneJob = () => {
    const n = counter + 1;
    return definition(oneOutput(n), { [`output/out${n}.txt`]: "moderately_sensitive" });
  };

  // Warm up both: image layers, page cache, the git cache and the daemon.
  await bare(oneOutput(0));
  await agentRun([oneJob()]);

  interface Row {
    name: string;
    bareMs: number;
    agentMs: number;
    perJobOverheadMs: number;
    prepareMs: number;
    finalizeMs: number;
  }
  const rows: Row[] = [];
  // For scale: how long the machine's own `cp -r` takes over the 1,000 small files.
  const copies: number[] = [];
  const summarise = (
    name: string,
    count: number,
    bares: number[],
    runs: { wall: number; jobs: JobTiming[] }[],
    into = rows,
  ) => {
    const bareMs = median(bares);
    const agentMs = median(runs.map((r) => r.wall));
    into.push({
      name,
      bareMs,
      agentMs,
      perJobOverheadMs: (agentMs - bareMs) / count,
      prepareMs: median(runs.flatMap((r) => r.jobs.map((j) => j.prepare))),
      finalizeMs: median(runs.flatMap((r) => r.jobs.map((j) => j.finalize))),
    });
  };

  // Interleaved, so a busy moment on the shared machine hits both alike.
  {
    const bares: number[] = [];
    const runs: { wall: number; jobs: JobTiming[] }[] = [];
    for (let i = 0; i < RUNS; i++) {
      bares.push(await bare(oneOutput(0)));
      runs.push(await agentRun([oneJob()]));
    }
    summarise("1 job", 1, bares, runs);
  }
  {
    const bares: number[] = [];
    const runs: { wall: number; jobs: JobTiming[] }[] = [];
    for (let i = 0; i < BATCH_RUNS; i++) {
      bares.push(await bare(oneOutput(0), BATCH));
      runs.push(await agentRun(Array.from({ length: BATCH }, oneJob)));
    }
    summarise(`${BATCH} jobs at once`, BATCH, bares, runs);
  }
  {
    // The inputs the bare run of the consuming job finds in its /workspace (the agent copies them in).
    const inputs = mkdtempSync(join(work, "inputs-"));
    mkdirSync(join(inputs, "output/many"), { recursive: true });
    for (let i = 0; i < MANY_FILES; i++) writeFileSync(join(inputs, `output/many/f${i}.txt`), String(i));
    const produceBares: number[] = [];
    const consumeBares: number[] = [];
    const produceRuns: { wall: number; jobs: JobTiming[] }[] = [];
    const consumeRuns: { wall: number; jobs: JobTiming[] }[] = [];
    const copy = async (i: number) => {
      const dest = join(work, `cp-${i}`);
      const started = performance.now();
      await run("cp", ["-r", inputs, dest]);
      copies.push(performance.now() - started);
      rmSync(dest, { recursive: true, force: true });
    };
    for (let i = 0; i < BATCH_RUNS; i++) {
      produceBares.push(await bare(MANY_OUTPUTS));
      const producer = definition(MANY_OUTPUTS, { "output/many/*.txt": "highly_sensitive" });
      produceRuns.push(await agentRun([producer]));
      await copy(2 * i);
      consumeBares.push(await bare(READ_INPUTS, 1, inputs));
      const consumer = definition(READ_INPUTS, { "output/count.txt": "moderately_sensitive" }, [producer.id]);
      consumeRuns.push(await agentRun([consumer]));
      await copy(2 * i + 1);
    }
    summarise(`1 job writing ${MANY_FILES.toLocaleString("en")} outputs`, 1, produceBares, produceRuns);
    summarise(`1 job with ${MANY_FILES.toLocaleString("en")} input files`, 1, consumeBares, consumeRuns);
  }

  abort.abort();
  await running;

  // The Slurm column: the same cases with EXECUTOR=slurm, when a cluster answers.
  const slurmRows: Row[] = [];
  const sbatchWaitMs: number[] = [];
  const slurmOk = (await slurmRequirement()).available;
  if (slurmOk) {
    const slurmConfig = loadAgentConfig(
      { ...agentEnv, EXECUTOR: "slurm", SLURM_SHARED_DIR: join(work, "slurm-shared") },
      workdir,
    );
    const slurmAgent = createAgent(slurmConfig, new SlurmRuntime(slurmRuntimeOptions(slurmConfig)), {
      log: silentLogger,
      api,
    });
    const slurmAbort = new AbortController();
    running = slurmAgent.loop.run(slurmAbort.signal);
    /** `count` bare batch jobs at once, each a script running the same `docker run --rm`; see the file's header. */
    const bareSlurm = async (code: string, count: number, wait: boolean): Promise<number> => {
      const dirs = Array.from({ length: count }, () => mkdtempSync(join(work, "bare-slurm-")));
      const scripts = dirs.map((dir) => {
        const script = join(dir, "job.sh");
        const quoted = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;
        writeFileSync(
          script,
          `#!/bin/bash\nexec docker run --rm --network none -v ${dir}:/workspace ${IMAGE} -c ${quoted(code)}\n`,
          { mode: 0o700 },
        );
        return script;
      });
      const started = performance.now();
      const submit = (script: string) =>
        run("sbatch", [
          ...(wait ? ["--wait"] : []),
          "--parsable",
          "--cpus-per-task=1",
          "--mem=256M",
          `--output=${script}.out`,
          script,
        ]);
      const submitted = await Promise.all(scripts.map(submit));
      if (!wait) {
        const ids = submitted.map(({ stdout }) => stdout.trim()).join(",");
        for (;;) {
          const { stdout } = await run("squeue", [
            "--noheader",
            "--states=all",
            `--jobs=${ids}`,
            "--format=%T",
          ]);
          if (
            stdout
              .trim()
              .split("\n")
              .every((state) => state.trim() === "COMPLETED")
          )
            break;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      const elapsed = performance.now() - started;
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
      return elapsed;
    };
    const slurmJob = () => {
      const job = oneJob();
      return { ...job, cpu_count: 1, memory_limit: "256m" };
    };
    await bareSlurm(oneOutput(0), 1, false);
    await agentRun([slurmJob()]);
    for (const [name, count, repeats] of [
      ["1 job", 1, RUNS],
      [`${BATCH} jobs at once`, BATCH, BATCH_RUNS],
    ] as const) {
      const bares: number[] = [];
      const runs: { wall: number; jobs: JobTiming[] }[] = [];
      for (let i = 0; i < repeats; i++) {
        bares.push(await bareSlurm(oneOutput(0), count, false));
        if (i === 0) sbatchWaitMs.push(await bareSlurm(oneOutput(0), count, true));
        runs.push(await agentRun(Array.from({ length: count }, slurmJob)));
      }
      summarise(name, count, bares, runs, slurmRows);
    }
    slurmAbort.abort();
    await running;
  }

  const f = (n: number) => n.toFixed(0);
  const copyMs = median(copies);
  const oneJobOverhead = rows[0]!.perJobOverheadMs;
  /** The goal cell: the files' cost against cp -r for the 1,000-file cases, the overhead per job for the others. */
  const goal = (r: Row) => {
    if (!r.name.includes(MANY_FILES.toLocaleString("en"))) {
      return `${r.perJobOverheadMs < GOAL_MS ? "met" : "missed"} (< ${GOAL_MS} ms)`;
    }
    const files = r.perJobOverheadMs - oneJobOverhead;
    const ratio = files / copyMs;
    return (
      `${ratio <= COPY_GOAL_RATIO ? "met" : "missed"}: the files ${f(files)} ms, ${ratio.toFixed(2)} × \`cp -r\` ` +
      `(≤ ${COPY_GOAL_RATIO})`
    );
  };
  const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
  const lines = [
    `Measured by \`npm run bench:agent\` on ${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpu}, ` +
      `Node ${process.version}, Docker runtime. Medians of ${RUNS} runs (1 job) and ${BATCH_RUNS} runs (the others), ` +
      "bare and agent runs interleaved. Agent: from the task being offered on the Task API to its completing update " +
      "being answered (polling every 50 ms). Bare: `docker run --rm --network none -v {dir}:/workspace` of the same " +
      `image and command, with a fresh directory mounted (for the batch, ${BATCH} at once; for the input case, ` +
      `holding the ${MANY_FILES.toLocaleString("en")} files). ` +
      "Prepare: `preparing` → `prepared` reported; finalize: `finalizing` → complete reported. The files' cost in " +
      `the ${MANY_FILES.toLocaleString("en")}-file cases: their overhead per job less the one-job case's, against ` +
      `\`cp -r\` of the same files (${f(copyMs)} ms, the median of ${copies.length} copies made between those runs).`,
    "",
    `| case | bare | agent | overhead per job | ratio to bare | prepare | finalize | goal |`,
    "|---|---:|---:|---:|---:|---:|---:|---|",
    ...rows.map(
      (r) =>
        `| ${r.name} | ${f(r.bareMs)} ms | ${f(r.agentMs)} ms | ${f(r.perJobOverheadMs)} ms | ` +
        `${(r.agentMs / r.bareMs).toFixed(2)} | ${f(r.prepareMs)} ms | ${f(r.finalizeMs)} ms | ${goal(r)} |`,
    ),
  ];
  lines.push(
    "",
    `Load average ${loadavg()[0]!.toFixed(1)} when the run ended (${cpus().length} cores, shared with other work).`,
  );
  if (slurmOk) {
    lines.push(
      "",
      "Slurm runtime (`EXECUTOR=slurm`, the single-host test cluster of scripts/start-test-slurm.sh; every job asks " +
        "for 1 CPU and 256 MiB, so the 2-core node runs two at a time). Bare: `sbatch` of a script running the same " +
        "`docker run --rm`, submitted and then polled with `squeue` every 50 ms until every job is `COMPLETED`. " +
        `\`sbatch --wait\` of the same took ${sbatchWaitMs.map((ms) => `${f(ms)} ms`).join(" (1 job) and ")} ` +
        `(${BATCH} at once): it polls the controller at growing intervals (2 s, then longer), so it is no baseline for ` +
        "overhead.",
      "",
      "| case | bare sbatch | agent | overhead per job | ratio to bare | prepare | finalize | goal |",
      "|---|---:|---:|---:|---:|---:|---:|---|",
      ...slurmRows.map(
        (r) =>
          `| ${r.name} | ${f(r.bareMs)} ms | ${f(r.agentMs)} ms | ${f(r.perJobOverheadMs)} ms | ` +
          `${(r.agentMs / r.bareMs).toFixed(2)} | ${f(r.prepareMs)} ms | ${f(r.finalizeMs)} ms | ` +
          `${r.perJobOverheadMs < GOAL_MS ? "met" : "missed"} (< ${GOAL_MS} ms) |`,
      ),
    );
  }
  const measured = lines.join("\n");
  console.log(measured);
  mkdirSync(join(ROOT, "bench/results"), { recursive: true });
  writeFileSync(
    join(ROOT, "bench/results/agent.json"),
    `${JSON.stringify({ runs: RUNS, batchRuns: BATCH_RUNS, rows, copyMs: copies, slurmRows, sbatchWaitMs }, null, 2)}\n`,
  );
  writeDocsSection("bench:agent", "Agent", measured);
} finally {
  abort.abort();
  await controller.stop();
  rmSync(work, { recursive: true, force: true });
}
