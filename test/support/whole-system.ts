/**
 * The whole system for end-to-end tests: the real controller (startSystem, on real time, its scheduler loop
 * running) and a real agent with a real runtime (Docker containers, host processes, or Slurm jobs running Docker
 * containers), both in one temp WORKDIR,
 * talking only over HTTP on 127.0.0.1. The agent runs in this process (`startAgent`) or as the built `rap agent`
 * command in a child process (`spawnAgent`), which a test can SIGKILL. Tests observe what job-server sees
 * (rap/status/) and what lands on disk.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createAgent, runAgentOnce, slurmRuntimeOptions } from "../../src/agent/index.js";
import { silentLogger } from "../../src/agent/log.js";
import { createRuntime, type Runtime, type RuntimeKind } from "../../src/agent/runtime/index.js";
import { loadAgentConfig } from "../../src/config/agent.js";
import type { Env } from "../../src/config/index.js";
import { type Clock, systemClock } from "../../src/domain/clock.js";
import { cliPath } from "./cli.js";
import { type System, startSystem } from "./system.js";

/** Job states rap/status/ shows once a job will not change again. */
const FINAL_STATES = new Set(["succeeded", "failed"]);
const POLL_MS = 50;

/** The controller's settings: a fast loop, room for every test job at once. */
const CONTROLLER_ENV: Env = {
  JOB_LOOP_INTERVAL: "0.05",
  TEST_MAX_WORKERS: "10",
};

/** A job as rap/status/ shows it (scenarios.md §0.6), with the keys these tests read. */
export interface StatusJob {
  identifier: string;
  rap_id: string;
  action: string;
  status: string;
  status_code: string;
  status_message: string;
  created_at: string;
  metrics: Record<string, unknown>;
}

/** A RAP's jobs by action (`any`: a test reads the actions it created, and an absent one fails its assertion). */
// biome-ignore lint/suspicious/noExplicitAny: see above.
export type StatusJobs = Record<string, any>;

export interface RunningAgent {
  /** Stops polling and waits for the handlers in flight. */
  stop(): Promise<void>;
}

export interface ChildAgent {
  readonly process: ChildProcess;
  /** Everything the process wrote to stderr and stdout so far (for failure messages). */
  output(): string;
  /** Sends the signal and waits for the process to end. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

export interface WholeSystem {
  readonly system: System<Clock>;
  readonly runtimeKind: RuntimeKind;
  /** The runtime the in-process agent uses (tests inspect containers through it). */
  readonly runtime: Runtime;
  /** The agent's environment, as the `rap agent` command reads it. */
  readonly agentEnv: Env;
  readonly highPrivacy: string;
  readonly mediumPrivacy: string;
  startAgent(): RunningAgent;
  /** One pass of an in-process agent (created on first use): poll once and wait for the handlers it started. */
  agentPass(): Promise<void>;
  /** Agent passes until the agent has completed every active task (the controller not ticking meanwhile). */
  agentUntilIdle(timeoutMs?: number): Promise<void>;
  spawnAgent(): ChildAgent;
  /** Polls rap/status/ until `done` holds for the RAP's jobs (by action); throws with the last answer on timeout. */
  until(rapId: string, done: (jobs: StatusJobs) => boolean, timeoutMs?: number): Promise<StatusJobs>;
  /** Polls until every job of the RAP is succeeded or failed. */
  untilFinal(rapId: string, timeoutMs?: number): Promise<StatusJobs>;
  /**
   * Polls the Task API until the agent has completed every task. A cancelled job is final as soon as the
   * controller asks for the cancel; the agent kills and cleans up after that.
   */
  untilNoActiveTasks(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface WholeSystemOptions {
  runtime: RuntimeKind;
  /** Run the scheduler loop (default); false: the test calls `system.tick()`. */
  loop?: boolean;
  controllerEnv?: Env;
  agentEnv?: Env;
}

export async function startWholeSystem(options: WholeSystemOptions): Promise<WholeSystem> {
  const system = await startSystem<Clock>(
    { ...CONTROLLER_ENV, ...options.controllerEnv },
    { clock: systemClock },
  );
  if (options.loop ?? true) system.controller.scheduler.start();
  const workdir = join(system.workdir, "agent");
  const agentEnv: Env = {
    BACKENDS: "test",
    BACKEND: "test",
    CONTROLLER_TASK_API_ENDPOINT: system.url,
    CONTROLLER_TASK_API_TOKEN: "agent_token",
    WORKDIR: workdir,
    ALLOW_LOCAL_GIT_REPOS: "true",
    EXECUTOR: options.runtime,
    JOB_LOOP_INTERVAL: "0.05",
    STATS_POLL_INTERVAL: "0.1",
    ...options.agentEnv,
  };
  const config = loadAgentConfig(agentEnv, workdir);
  // The runtime the `rap agent` command builds, so in-process and child agents share the local runtime's state.
  const runtime = createRuntime(options.runtime, {
    docker: { registry: config.dockerRegistry, proxy: config.dockerProxy },
    local: { stateDir: join(workdir, "local-runtime"), commands: config.localExecutorCommands },
    slurm: slurmRuntimeOptions(config),
  });
  const agents = new Set<RunningAgent>();
  let passAgent: ReturnType<typeof createAgent> | undefined;
  const agentPass = async () => {
    passAgent ??= createAgent(config, runtime, { log: silentLogger, retryBaseMs: 0 });
    await runAgentOnce(passAgent);
  };
  const activeTasks = async (): Promise<unknown[]> => {
    const answer = await fetch(`${system.url}/test/tasks/`, { headers: { authorization: "agent_token" } });
    return ((await answer.json()) as { tasks: unknown[] }).tasks;
  };
  const children = new Set<ChildAgent>();

  const until: WholeSystem["until"] = async (rapId, done, timeoutMs = 40_000) => {
    const deadline = Date.now() + timeoutMs;
    let jobs: StatusJobs = {};
    while (Date.now() < deadline) {
      jobs = await system.jobs(rapId);
      if (done(jobs)) return jobs;
      await sleep(POLL_MS);
    }
    throw new Error(`timed out waiting on RAP ${rapId}; last status:\n${JSON.stringify(jobs, null, 2)}`);
  };

  return {
    system,
    runtimeKind: options.runtime,
    runtime,
    agentEnv,
    highPrivacy: config.storage.highPrivacyStorageBase,
    mediumPrivacy: config.storage.mediumPrivacyStorageBase,
    startAgent() {
      const abort = new AbortController();
      const { loop, sampler } = createAgent(config, runtime, { log: silentLogger, retryBaseMs: 50 });
      const running = Promise.all([loop.run(abort.signal), sampler.run(abort.signal)]);
      const agent: RunningAgent = {
        async stop() {
          agents.delete(agent);
          abort.abort();
          await running;
        },
      };
      agents.add(agent);
      return agent;
    },
    agentPass,
    async agentUntilIdle(timeoutMs = 40_000) {
      const deadline = Date.now() + timeoutMs;
      while ((await activeTasks()).length > 0) {
        if (Date.now() > deadline) throw new Error("the agent did not complete its tasks in time");
        await agentPass();
        await sleep(POLL_MS);
      }
    },
    spawnAgent() {
      const child = spawn(process.execPath, [cliPath, "agent", "--backend", "test"], {
        env: { PATH: process.env.PATH ?? "", ...agentEnv },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      child.stdout?.on("data", (chunk) => {
        output += chunk;
      });
      child.stderr?.on("data", (chunk) => {
        output += chunk;
      });
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      const agent: ChildAgent = {
        process: child,
        output: () => output,
        async kill(signal) {
          children.delete(agent);
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          await exited;
        },
      };
      children.add(agent);
      return agent;
    },
    until,
    async untilNoActiveTasks(timeoutMs = 40_000) {
      const deadline = Date.now() + timeoutMs;
      let tasks: unknown[] = [];
      while (Date.now() < deadline) {
        tasks = await activeTasks();
        if (tasks.length === 0) return;
        await sleep(POLL_MS);
      }
      throw new Error(`timed out waiting for the agent; active tasks:\n${JSON.stringify(tasks, null, 2)}`);
    },
    untilFinal: (rapId, timeoutMs) =>
      until(rapId, (jobs) => Object.values(jobs).every((job) => FINAL_STATES.has(job.status)), timeoutMs),
    async close() {
      for (const agent of [...agents]) await agent.stop();
      for (const child of [...children]) await child.kill("SIGTERM");
      await system.close();
    },
  };
}
