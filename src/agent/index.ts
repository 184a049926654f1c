/**
 * The agent: one per backend, talking to the controller only over the Task API and running jobs through a
 * container runtime (reference/agent.md; docs/agent.md). `runAgent` runs the task loop and the metrics sampler until
 * the signal aborts; `createAgent` builds the pieces for callers (and tests) that drive passes themselves.
 */
import { join } from "node:path";
import type { Tracer } from "@opentelemetry/api";
import type { AgentConfig } from "../config/agent.js";
import { closeBlobReaders, type GitSettings, githubUsername } from "../git/index.js";
import { startTracing } from "../telemetry/tracing.js";
import { JobExecutor } from "./executor.js";
import { AgentFiguresSource } from "./figures.js";
import type { AgentLogger } from "./log.js";
import { LogShipper } from "./log-shipper.js";
import { AgentLoop, type TaskApi } from "./loop.js";
import { MetricsSampler, MetricsStore } from "./metrics.js";
import {
  createRuntime,
  detectRuntime,
  type SlurmRuntimeOptions,
  socketPathFromDockerHost,
} from "./runtime/index.js";
import type { Runtime, RuntimeKind } from "./runtime/types.js";
import { TaskApiClient } from "./task-api.js";
import { agentLayout } from "./workspace/paths.js";

export type { AgentLoop } from "./loop.js";

// A job's repository can be large; a fetch or checkout is still bounded.
const GIT_TIMEOUT_MS = 10 * 60_000;

export interface AgentParts {
  readonly loop: AgentLoop;
  readonly executor: JobExecutor;
  readonly sampler: MetricsSampler;
  readonly api: TaskApi;
  /** With LOGS_TO_CONTROLLER=true: sends running jobs' output to the controller. */
  readonly shipper: LogShipper | null;
  /** Its git cache's settings (the agent closes the cache's readers when it stops). */
  readonly git: GitSettings;
}

export interface CreateAgentOptions {
  readonly log: AgentLogger;
  /** For the loop's spans (AGENT_LOOP, LOOP_TASK); no tracing when absent. */
  readonly tracer?: Tracer;
  /** The Task API client; by default one for CONTROLLER_TASK_API_ENDPOINT. */
  readonly api?: TaskApi;
  /** Backoff of failing tasks (see AgentLoop). */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
}

function agentGitSettings(config: AgentConfig, log: AgentLogger): GitSettings {
  return {
    reposDir: join(config.storage.workdir, "repos"),
    githubProxyDomain: config.githubProxyDomain,
    privateRepoAccessToken: config.privateRepoAccessToken,
    githubUsername: githubUsername(config.backend),
    allowedGithubOrgs: config.allowedGithubOrgs,
    allowLocalGitRepos: config.allowLocalGitRepos,
    timeoutMs: GIT_TIMEOUT_MS,
    log,
  };
}

export function createAgent(
  config: AgentConfig,
  uncounted: Runtime,
  options: CreateAgentOptions,
): AgentParts {
  const { log } = options;
  const figures = new AgentFiguresSource({
    high_privacy: config.storage.highPrivacyStorageBase,
    medium_privacy: config.storage.mediumPrivacyStorageBase,
  });
  const runtime = figures.counting(uncounted);
  const layout = agentLayout(config.storage);
  const git = agentGitSettings(config, log);
  const metrics = new MetricsStore(layout.metricsDir);
  const executor = new JobExecutor({
    runtime,
    layout,
    git,
    metrics,
    log,
    settings: {
      usingDummyDataBackend: config.usingDummyDataBackend,
      databaseAccessNetwork: config.databaseAccessNetwork,
      maxJobOutputBytes: config.maxJobOutputBytes,
      user: `${config.dockerUserId}:${config.dockerGroupId}`,
    },
  });
  const api =
    options.api ??
    new TaskApiClient({
      endpoint: config.taskApiEndpoint,
      backend: config.backend,
      token: config.taskApiToken,
      log,
    });
  const sendLogs = api.sendLogs?.bind(api);
  const shipper =
    config.liveLogs.toController && sendLogs
      ? new LogShipper({
          runtime,
          send: (taskId, batch) => sendLogs(taskId, batch),
          limits: config.liveLogs,
          log,
        })
      : null;
  const loop = new AgentLoop({
    config,
    runtime,
    executor,
    api,
    git,
    log,
    logShipper: shipper ?? undefined,
    tracer: options.tracer,
    figures,
    retryBaseMs: options.retryBaseMs,
    retryMaxMs: options.retryMaxMs,
  });
  const sampler = new MetricsSampler({
    runtime,
    store: metrics,
    intervalMs: config.statsPollIntervalMs,
    log,
  });
  return { loop, executor, sampler, api, shipper, git };
}

/** Said whenever the local runtime is chosen: it must never be mistaken for a secure executor. */
export const LOCAL_RUNTIME_WARNING =
  "warning: EXECUTOR=local runs every action as a process on this machine, as this user, with no isolation, " +
  "no network or resource limits: for development only, never on a backend with real data";

/** Where the local runtime keeps its containers' state. */
export function localRuntimeStateDir(workdir: string): string {
  return join(workdir, "local-runtime");
}

/** The runtime EXECUTOR names, or, when unset, Docker if an engine answers and the local runtime otherwise. */
export async function agentRuntime(config: AgentConfig): Promise<Runtime> {
  const socketPath = socketPathFromDockerHost(config.dockerHost ?? undefined);
  const kind: RuntimeKind = config.executor ?? (await detectRuntime({ socketPath }));
  return createRuntime(kind, {
    docker: {
      socketPath,
      registry: config.dockerRegistry,
      proxy: config.dockerProxy,
      pullTimeoutMs: config.imagePullTimeoutMs,
      logMaxBytes: config.jobLogMaxBytes,
      pidsLimit: config.dockerPidsLimit,
      stateDir: join(config.storage.workdir, "docker-runtime"),
    },
    local: {
      stateDir: localRuntimeStateDir(config.storage.workdir),
      commands: config.localExecutorCommands,
      logMaxBytes: config.jobLogMaxBytes,
    },
    slurm: slurmRuntimeOptions(config),
  });
}

/** The Slurm runtime's options from the agent's settings (read only when EXECUTOR=slurm). */
export function slurmRuntimeOptions(config: AgentConfig): SlurmRuntimeOptions {
  const { slurm } = config;
  return {
    sharedDir: slurm.sharedDir,
    volumeDir: config.storage.highPrivacyVolumeDir,
    stateDir: join(config.storage.workdir, "slurm-runtime"),
    submit: {
      partition: slurm.partition,
      account: slurm.account,
      timeLimit: slurm.timeLimit,
      extraArgs: slurm.extraArgs,
    },
    commandTimeoutMs: slurm.commandTimeoutMs,
    slurmConf: slurm.slurmConf,
    engine: slurm.engine,
    registry: config.dockerRegistry,
    proxy: config.dockerProxy,
    logMaxBytes: config.jobLogMaxBytes,
    pidsLimit: config.dockerPidsLimit,
  };
}

/** Runs the agent until `signal` aborts; resolves once the handlers in flight have finished. */
export async function runAgent(
  config: AgentConfig,
  runtime: Runtime,
  options: { signal: AbortSignal; log: AgentLogger },
): Promise<void> {
  const { log } = options;
  const tracing = startTracing(config.telemetry, "agent", (error) =>
    log.warn({ err: error instanceof Error ? error.message : String(error) }, "could not export spans"),
  );
  const { loop, sampler, shipper, git } = createAgent(config, runtime, {
    log,
    tracer: tracing?.tracer("agent_loop"),
  });
  // The caller's logger already names the backend (rap agent, rap serve).
  log.info({ runtime: runtime.kind }, "agent started");
  try {
    await Promise.all([loop.run(options.signal), sampler.run(options.signal)]);
  } finally {
    shipper?.stop();
    // The manifest's project.yaml reads go through long-lived git processes in the cache.
    await closeBlobReaders(git.reposDir);
    await tracing?.shutdown();
  }
  log.info({ backend: config.backend }, "agent stopped");
}

/** One pass of the loop (poll, then wait for every handler it started): for tests and one-shot use. */
export function runAgentOnce(parts: Pick<AgentParts, "loop">, signal?: AbortSignal): Promise<void> {
  return parts.loop.runOnce(signal);
}
