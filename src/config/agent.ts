/**
 * The agent's configuration: the reference agent's variable names and defaults (reference/agent.md §6), parsed once
 * into a frozen object. Secrets (the Task API token, database URLs, TLS keys, the GitHub token) live only here and
 * in the processes that need them; nothing logs this object.
 */

import { readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import {
  type Env,
  readCount,
  readList,
  readNonNegativeNumber,
  readPositiveNumber,
  readString,
} from "./env.js";
import { ConfigError } from "./errors.js";
import { type GitAccess, readGitAccess } from "./git-access.js";
import { readBackends, readLogLevel, readWorkdir } from "./index.js";
import { type AgentLiveLogs, readAgentLiveLogs } from "./live-logs.js";
import { readTelemetry, type TelemetryConfig } from "./telemetry.js";

/** The values EXECUTOR takes: one per runtime in src/agent/runtime's registry. */
export const EXECUTOR_KINDS = ["docker", "local", "slurm"] as const;
export type ExecutorKind = (typeof EXECUTOR_KINDS)[number];
/** SLURM_CONTAINER_ENGINE: what runs a job's container on a Slurm node. */
export const CONTAINER_ENGINES = ["docker", "podman"] as const;
export type ContainerEngine = (typeof CONTAINER_ENGINES)[number];

export interface AgentStorage {
  readonly workdir: string;
  readonly highPrivacyStorageBase: string;
  readonly mediumPrivacyStorageBase: string;
  readonly highPrivacyArchiveDir: string;
  readonly highPrivacyVolumeDir: string;
  /** The volume dir's path on the Docker host when the agent itself runs in a container; null otherwise. */
  readonly dockerHostVolumeDir: string | null;
}

/** The Slurm runtime's settings (EXECUTOR=slurm; docs/agent.md). */
export interface SlurmSettings {
  /** SLURM_SHARED_DIR: the runtime's files for each job, on storage the agent and every node share. */
  readonly sharedDir: string;
  /** SLURM_PARTITION; null for the cluster's default partition. */
  readonly partition: string | null;
  /** SLURM_ACCOUNT; null for the user's default account. */
  readonly account: string | null;
  /** SLURM_TIME_LIMIT: each job's wall-time limit in sbatch's syntax; null for the partition's. */
  readonly timeLimit: string | null;
  /** SLURM_EXTRA_ARGS: more sbatch options, separated by spaces. */
  readonly extraArgs: readonly string[];
  /** SLURM_COMMAND_TIMEOUT in ms: the longest one Slurm command (sbatch, squeue …) may take. */
  readonly commandTimeoutMs: number;
  /** SLURM_CONF, Slurm's own variable, passed to its commands; null for their default. */
  readonly slurmConf: string | null;
  /** SLURM_CONTAINER_ENGINE: the nodes' container engine, `docker` (default) or `podman`. */
  readonly engine: ContainerEngine;
}

export interface AgentConfig extends GitAccess {
  readonly backends: readonly string[];
  /** BACKEND: the one backend this agent serves. */
  readonly backend: string;
  readonly taskApiEndpoint: string;
  /** CONTROLLER_TASK_API_TOKEN (secret). */
  readonly taskApiToken: string;
  readonly storage: AgentStorage;
  readonly dockerRegistry: string;
  readonly dockerProxy: string;
  readonly imagePullTimeoutMs: number;
  readonly usingDummyDataBackend: boolean;
  readonly databaseAccessNetwork: string;
  /** Database name → URL (secret), from `{NAME}_DATABASE_URL` for each valid database name. */
  readonly databaseUrls: Readonly<Record<string, string>>;
  readonly tempDatabaseName: string | null;
  readonly emisOrganisationHash: string | null;
  /** The contents (secret) of PRESTO_TLS_KEY_PATH / PRESTO_TLS_CERT_PATH; null when not configured. */
  readonly prestoTls: { readonly key: string; readonly cert: string } | null;
  readonly statsPollIntervalMs: number;
  /** MAX_JOB_OUTPUT_BYTES: the most a job's outputs may total (apparent sizes); 0 for no limit. */
  readonly maxJobOutputBytes: number;
  /** `--user` for job containers. */
  readonly dockerUserId: string;
  readonly dockerGroupId: string;
  /** True when DOCKER_USER_ID and DOCKER_GROUP_ID are both left to default to the agent's own ids. */
  readonly dockerUserDefaulted: boolean;
  /** DOCKER_PIDS_LIMIT: processes a job container may have at once; null (0) for no limit. */
  readonly dockerPidsLimit: number | null;
  /** JOB_LOG_MAX_BYTES: the most of a job's output its log keeps (the last bytes; the rest is counted). */
  readonly jobLogMaxBytes: number;
  readonly jobLoopIntervalMs: number;
  /** DOCKER_HOST (the Docker client's own variable); null for the default socket. */
  readonly dockerHost: string | null;
  /** EXECUTOR: null means "pick what this machine has". */
  readonly executor: ExecutorKind | null;
  readonly slurm: SlurmSettings;
  /** LOCAL_EXECUTOR_COMMANDS: image name (last path part, no tag) → host command, for the local runtime. */
  readonly localExecutorCommands: Readonly<Record<string, string>>;
  /** MAX_TASK_RETRIES: consecutive failures of one task before it is reported as an agent error. */
  readonly maxTaskRetries: number;
  /** OTEL_* settings, as the controller reads them. */
  readonly telemetry: TelemetryConfig;
  /** pino level for the agent's log (LOGLEVEL, default info). */
  readonly logLevel: string;
  /** Whether and how it sends jobs' output to the controller (LOGS_TO_CONTROLLER; src/config/live-logs.ts). */
  readonly liveLogs: AgentLiveLogs;
}

/** The reference's defaults, also the Docker runtime's when it is built without a configuration. */
export const DEFAULT_DOCKER_REGISTRY = "ghcr.io/opensafely-core";
export const DEFAULT_DOCKER_PROXY = "docker-proxy.opensafely.org/opensafely-core";
export const DEFAULT_IMAGE_PULL_TIMEOUT_MS = 1_200_000;
/** Ours: enough for any real job's processes and threads, well short of a fork bomb exhausting the host. */
export const DEFAULT_DOCKER_PIDS_LIMIT = 4096;
/** Ours: 100,000 lines of 80 characters, about what the reference's `--tail 100000` keeps of a normal log. */
export const DEFAULT_JOB_LOG_MAX_BYTES = 8 * 1024 * 1024;

/** The reference's only database name (`VALID_DATABASE_NAMES`). */
export const VALID_DATABASE_NAMES: readonly string[] = ["default"];

// The reference's EXECUTOR value names its Docker executor class; accepted as a synonym of `docker`.
const REFERENCE_DOCKER_EXECUTOR = "agent.executors.local:LocalDockerAPI";

export function loadAgentConfig(env: Env, cwd: string): AgentConfig {
  const backends = readBackends(env);
  const workdir = readWorkdir(env, cwd);
  return Object.freeze({
    backends: Object.freeze(backends),
    backend: readAgentBackend(env, backends),
    taskApiEndpoint: readEndpoint(env),
    taskApiToken: readString(env, "CONTROLLER_TASK_API_TOKEN", "token"),
    storage: readStorage(env, workdir),
    dockerRegistry: readString(env, "DOCKER_REGISTRY", DEFAULT_DOCKER_REGISTRY),
    dockerProxy: readString(env, "DOCKER_PROXY", DEFAULT_DOCKER_PROXY),
    imagePullTimeoutMs:
      readPositiveNumber(env, "IMAGE_PULL_TIMEOUT", DEFAULT_IMAGE_PULL_TIMEOUT_MS / 1000) * 1000,
    usingDummyDataBackend: readYes(env, "USING_DUMMY_DATA_BACKEND"),
    databaseAccessNetwork: readString(env, "DATABASE_ACCESS_NETWORK", "jobrunner-db"),
    databaseUrls: Object.freeze(readDatabaseUrls(env)),
    tempDatabaseName: readOptional(env, "TEMP_DATABASE_NAME"),
    emisOrganisationHash: readOptional(env, "EMIS_ORGANISATION_HASH"),
    prestoTls: readPrestoTls(env),
    statsPollIntervalMs: readPositiveNumber(env, "STATS_POLL_INTERVAL", 10) * 1000,
    maxJobOutputBytes: readCount(env, "MAX_JOB_OUTPUT_BYTES", 0),
    dockerUserId: readId(env, "DOCKER_USER_ID", process.getuid?.() ?? 0),
    dockerGroupId: readId(env, "DOCKER_GROUP_ID", process.getgid?.() ?? 0),
    dockerUserDefaulted: isUnset(env, "DOCKER_USER_ID") && isUnset(env, "DOCKER_GROUP_ID"),
    dockerPidsLimit: readCount(env, "DOCKER_PIDS_LIMIT", DEFAULT_DOCKER_PIDS_LIMIT) || null,
    jobLogMaxBytes: readJobLogMaxBytes(env),
    jobLoopIntervalMs: readNonNegativeNumber(env, "JOB_LOOP_INTERVAL", 1.0) * 1000,
    dockerHost: readOptional(env, "DOCKER_HOST"),
    executor: readExecutor(env),
    slurm: readSlurm(env, workdir),
    localExecutorCommands: Object.freeze(readCommandMap(env, "LOCAL_EXECUTOR_COMMANDS")),
    maxTaskRetries: readMaxRetries(env),
    ...readGitAccess(env),
    telemetry: readTelemetry(env),
    logLevel: readLogLevel(env),
    liveLogs: readAgentLiveLogs(env),
  });
}

/** Start-up warnings for the agent's operator (never containing a secret). */
export function agentConfigWarnings(config: AgentConfig): string[] {
  const warnings: string[] = [];
  if (config.taskApiToken === "token") {
    warnings.push("CONTROLLER_TASK_API_TOKEN is not set: the agent uses the insecure default token");
  }
  // Warned, not refused: the reference defaults to the agent's ids too, and existing root deployments must keep
  // starting. Set explicitly (even to 0) it is the operator's decision and said nothing about.
  if (config.executor !== "local" && config.dockerUserDefaulted && config.dockerUserId === "0") {
    warnings.push(
      "the agent runs as root and DOCKER_USER_ID/DOCKER_GROUP_ID are not set: jobs run as root (uid 0) in " +
        "their containers; run the agent as a dedicated user, or set DOCKER_USER_ID and DOCKER_GROUP_ID to one " +
        "(docs/deployment.md)",
    );
  }
  return warnings;
}

function isUnset(env: Env, name: string): boolean {
  return (env[name]?.trim() ?? "") === "";
}

/** At least 64 KiB: a log must have room for its last lines and the note of what was left out. */
function readJobLogMaxBytes(env: Env): number {
  const value = readCount(env, "JOB_LOG_MAX_BYTES", DEFAULT_JOB_LOG_MAX_BYTES);
  if (value < 65_536) throw new ConfigError("JOB_LOG_MAX_BYTES", `must be 65536 or more, got '${value}'`);
  return value;
}

function readAgentBackend(env: Env, backends: readonly string[]): string {
  const backend = env.BACKEND?.trim().toLowerCase() ?? "";
  if (backend === "") throw new ConfigError("BACKEND", "must name the backend this agent runs jobs for");
  if (!backends.includes(backend)) {
    throw new ConfigError("BACKEND", `${backend} is not valid, allowed backends are: ${backends.join(", ")}`);
  }
  return backend;
}

function readEndpoint(env: Env): string {
  const raw = env.CONTROLLER_TASK_API_ENDPOINT?.trim() ?? "";
  if (raw === "")
    throw new ConfigError("CONTROLLER_TASK_API_ENDPOINT", "must be set to the controller's URL");
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError("CONTROLLER_TASK_API_ENDPOINT", "must be an http:// or https:// URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError("CONTROLLER_TASK_API_ENDPOINT", "must be an http:// or https:// URL");
  }
  return raw;
}

/**
 * Only where the agent keeps its files (HIGH_PRIVACY_STORAGE_BASE …, under WORKDIR by default): for operator
 * commands on the agent's machine, which need none of the agent's other settings.
 */
export function loadAgentStorage(env: Env, cwd: string): AgentStorage {
  return readStorage(env, readWorkdir(env, cwd));
}

function readStorage(env: Env, workdir: string): AgentStorage {
  const high = readAbsolute(env, "HIGH_PRIVACY_STORAGE_BASE", join(workdir, "high_privacy"));
  return Object.freeze({
    workdir,
    highPrivacyStorageBase: high,
    mediumPrivacyStorageBase: readAbsolute(
      env,
      "MEDIUM_PRIVACY_STORAGE_BASE",
      join(workdir, "medium_privacy"),
    ),
    highPrivacyArchiveDir: readAbsolute(env, "HIGH_PRIVACY_ARCHIVE_DIR", join(high, "archives")),
    highPrivacyVolumeDir: readAbsolute(env, "HIGH_PRIVACY_VOLUME_DIR", join(high, "volumes")),
    dockerHostVolumeDir: readAbsolute(env, "DOCKER_HOST_VOLUME_DIR", "") || null,
  });
}

function readAbsolute(env: Env, name: string, fallback: string): string {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return fallback;
  if (!isAbsolute(raw)) throw new ConfigError(name, `must be an absolute path, got '${raw}'`);
  return raw;
}

function readOptional(env: Env, name: string): string | null {
  const raw = env[name];
  return raw === undefined || raw.trim() === "" ? null : raw;
}

/** The reference agent's boolean rule for USING_DUMMY_DATA_BACKEND: `true`, `1` or `yes`, any case. */
function readYes(env: Env, name: string): boolean {
  return ["true", "1", "yes"].includes((env[name] ?? "").trim().toLowerCase());
}

/** `{NAME}_DATABASE_URL` for each valid database name; empty values count as unset. */
function readDatabaseUrls(env: Env): Record<string, string> {
  const urls: Record<string, string> = {};
  for (const name of VALID_DATABASE_NAMES) {
    const value = readOptional(env, `${name.toUpperCase()}_DATABASE_URL`);
    if (value !== null) urls[name] = value;
  }
  return urls;
}

function readPrestoTls(env: Env): AgentConfig["prestoTls"] {
  const keyPath = readOptional(env, "PRESTO_TLS_KEY_PATH");
  const certPath = readOptional(env, "PRESTO_TLS_CERT_PATH");
  if (keyPath === null && certPath === null) return null;
  if (keyPath === null || certPath === null) {
    const missing = keyPath === null ? "PRESTO_TLS_KEY_PATH" : "PRESTO_TLS_CERT_PATH";
    throw new ConfigError(
      missing,
      "is not set: Both PRESTO_TLS_KEY_PATH and PRESTO_TLS_CERT_PATH must be defined if either are",
    );
  }
  return Object.freeze({
    key: readSecretFile("PRESTO_TLS_KEY_PATH", keyPath),
    cert: readSecretFile("PRESTO_TLS_CERT_PATH", certPath),
  });
}

function readSecretFile(name: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    throw new ConfigError(name, `names a file that does not exist or cannot be read: ${path}`);
  }
}

function readId(env: Env, name: string, fallback: number): string {
  return String(readCount(env, name, fallback));
}

function readExecutor(env: Env): ExecutorKind | null {
  const raw = env.EXECUTOR?.trim() ?? "";
  if (raw === "") return null;
  if (raw === "docker" || raw === REFERENCE_DOCKER_EXECUTOR) return "docker";
  const kind = EXECUTOR_KINDS.find((name) => name === raw);
  if (kind) return kind;
  const names = EXECUTOR_KINDS.map((name) => `'${name}'`);
  throw new ConfigError(
    "EXECUTOR",
    `must be ${names.slice(0, -1).join(", ")} or ${names.at(-1)} (or unset to choose automatically), got '${raw}'`,
  );
}

function readSlurm(env: Env, workdir: string): SlurmSettings {
  const timeLimit = readOptional(env, "SLURM_TIME_LIMIT")?.trim() ?? null;
  // sbatch's --time forms: minutes, [days-]hours[:minutes[:seconds]], or minutes:seconds.
  if (timeLimit !== null && !/^(\d+-)?\d+(:\d+){0,2}$/.test(timeLimit) && timeLimit !== "UNLIMITED") {
    throw new ConfigError(
      "SLURM_TIME_LIMIT",
      `must be a time limit sbatch reads, such as 24:00:00 or 2-00:00:00, got '${timeLimit}'`,
    );
  }
  const engineName = readOptional(env, "SLURM_CONTAINER_ENGINE")?.trim() ?? "docker";
  const engine = CONTAINER_ENGINES.find((name) => name === engineName);
  if (engine === undefined) {
    throw new ConfigError("SLURM_CONTAINER_ENGINE", `must be 'docker' or 'podman', got '${engineName}'`);
  }
  return Object.freeze({
    sharedDir: readAbsolute(env, "SLURM_SHARED_DIR", join(workdir, "slurm")),
    partition: readOptional(env, "SLURM_PARTITION")?.trim() ?? null,
    account: readOptional(env, "SLURM_ACCOUNT")?.trim() ?? null,
    timeLimit,
    extraArgs: Object.freeze((env.SLURM_EXTRA_ARGS ?? "").split(/\s+/).filter((arg) => arg !== "")),
    commandTimeoutMs: readPositiveNumber(env, "SLURM_COMMAND_TIMEOUT", 30) * 1000,
    slurmConf: readAbsolute(env, "SLURM_CONF", "") || null,
    engine,
  });
}

/** `name=command,name=command`: names are image names without registry or tag, commands a host program. */
function readCommandMap(env: Env, name: string): Record<string, string> {
  const map: Record<string, string> = {};
  for (const item of readList(env, name, [])) {
    const eq = item.indexOf("=");
    const key = eq > 0 ? item.slice(0, eq).trim() : "";
    const command = eq > 0 ? item.slice(eq + 1).trim() : "";
    if (key === "" || command === "") {
      throw new ConfigError(name, `must look like 'python=python3,r=Rscript', got the item '${item}'`);
    }
    map[key] = command;
  }
  return map;
}

function readMaxRetries(env: Env): number {
  const value = readCount(env, "MAX_TASK_RETRIES", 5);
  if (value < 1) throw new ConfigError("MAX_TASK_RETRIES", "must be 1 or more");
  return value;
}
