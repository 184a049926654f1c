/**
 * Configuration, parsed once from the environment into a frozen, typed object and passed down explicitly. Variable
 * names and defaults are the reference job-runner's (reference/controller.md §8), plus PORT, HOST, DATABASE_URL and
 * the request limits (limits.ts). No other module reads process.env.
 */

import { resolve } from "node:path";
import { type Env, readCount, readList, readPort, readString } from "./env.js";
import { ConfigError } from "./errors.js";
import { type GitAccess, readGitAccess } from "./git-access.js";
import { type Limits, readLimits } from "./limits.js";
import { type ControllerLiveLogs, readControllerLiveLogs } from "./live-logs.js";
import { readScheduler, type SchedulerConfig } from "./scheduler.js";
import { readTelemetry, type TelemetryConfig } from "./telemetry.js";

export type { Env } from "./env.js";
export { ConfigError } from "./errors.js";
export type { Limits } from "./limits.js";
export type { BackendJobLimits, SchedulerConfig } from "./scheduler.js";
export type { TelemetryConfig } from "./telemetry.js";

export interface BackendConfig {
  readonly name: string;
  /** RAP API tokens allowed to see this backend ({BACKEND}_CLIENT_TOKENS). */
  readonly clientTokens: readonly string[];
  /** The agent's Task API token ({BACKEND}_JOB_SERVER_TOKEN). */
  readonly jobServerToken: string;
  readonly maxWorkers: number;
  readonly maxDbWorkers: number;
}

/**
 * Where the database is (DATABASE_URL): an SQLite file, or a PostgreSQL server. Which dialects can be opened is
 * src/db/open.ts's business, not the configuration's.
 */
export type DatabaseLocation =
  | { readonly dialect: "sqlite"; readonly path: string }
  | {
      readonly dialect: "postgres";
      readonly url: string;
      /** Connections in this process's pool (DATABASE_POOL_SIZE, default 10). */
      readonly poolSize: number;
      /** The server cancels a statement running longer (DATABASE_STATEMENT_TIMEOUT_MS, default 30000; 0: never). */
      readonly statementTimeoutMs: number;
      /**
       * The server ends a session whose transaction waits longer than this for its next statement: the scheduler
       * lease's time (SCHEDULER_LEASE_TTL), so a holder cut off mid-transaction, whose open transaction keeps the
       * lease row locked, frees it for a standby by the time the lease runs out.
       */
      readonly idleInTransactionTimeoutMs: number;
    };

export interface Config extends GitAccess {
  /** Known backends, in BACKENDS order. */
  readonly backends: readonly string[];
  readonly backend: Readonly<Record<string, BackendConfig>>;
  /** RAP API token → the backends it may see, in BACKENDS order. */
  readonly clientTokens: ReadonlyMap<string, readonly string[]>;
  /** Tokens for the operator endpoints (OPERATOR_TOKENS, comma-separated); none: those endpoints are off. */
  readonly operatorTokens: readonly string[];
  /** Jobs' output sent by agents (LOGS_TO_CONTROLLER and its bounds; src/config/live-logs.ts). */
  readonly liveLogs: ControllerLiveLogs;
  readonly workdir: string;
  readonly database: DatabaseLocation;
  readonly host: string;
  readonly port: number;
  readonly telemetry: TelemetryConfig;
  readonly scheduler: SchedulerConfig;
  /** pino level for process logs (LOGLEVEL, default info). */
  readonly logLevel: string;
  readonly limits: Limits;
}

const DEFAULT_BACKENDS = ["test", "tpp", "emis", "ted"];
const DEFAULT_MAX_WORKERS: Readonly<Record<string, number>> = { test: 2 };
const FALLBACK_MAX_WORKERS = 10;
const BACKEND_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/** The prefix of a backend's own variables: `tpp` → `TPP` (`TPP_CLIENT_TOKENS`), `my-db` → `MY_DB`. */
export function backendPrefix(name: string): string {
  return name.toUpperCase().replaceAll("-", "_");
}

function readBackend(env: Env, name: string): BackendConfig {
  const prefix = backendPrefix(name);
  const maxWorkers = readCount(
    env,
    `${prefix}_MAX_WORKERS`,
    DEFAULT_MAX_WORKERS[name] ?? FALLBACK_MAX_WORKERS,
  );
  return Object.freeze({
    name,
    clientTokens: Object.freeze(readList(env, `${prefix}_CLIENT_TOKENS`, [])),
    // The reference defaults every agent token to "token"; kept for drop-in compatibility, flagged at start-up.
    jobServerToken: readString(env, `${prefix}_JOB_SERVER_TOKEN`, "token"),
    maxWorkers,
    maxDbWorkers: readCount(env, `${prefix}_MAX_DB_WORKERS`, maxWorkers),
  });
}

/** BACKENDS, lower-cased and checked; shared with the agent's configuration. */
export function readBackends(env: Env): string[] {
  const backends = readList(env, "BACKENDS", DEFAULT_BACKENDS).map((b) => b.toLowerCase());
  if (backends.length === 0) throw new ConfigError("BACKENDS", "must name at least one backend");
  for (const backend of backends) {
    if (!BACKEND_NAME.test(backend)) {
      throw new ConfigError(
        "BACKENDS",
        `has an invalid backend name '${backend}' (use letters, digits, - and _)`,
      );
    }
  }
  if (new Set(backends).size !== backends.length) throw new ConfigError("BACKENDS", "lists a backend twice");
  return backends;
}

function clientTokenMap(backends: readonly string[], backend: Record<string, BackendConfig>) {
  const tokens = new Map<string, string[]>();
  for (const name of backends) {
    for (const token of backend[name]!.clientTokens) {
      const list = tokens.get(token) ?? [];
      if (!list.includes(name)) list.push(name);
      tokens.set(token, list);
    }
  }
  return tokens;
}

/** WORKDIR, absolute (relative values are under `cwd`); default `<cwd>/workdir`. */
export function readWorkdir(env: Env, cwd: string): string {
  return resolve(cwd, env.WORKDIR?.trim() || "workdir");
}

/**
 * DATABASE_URL: unset → WORKDIR/db.sqlite; `sqlite:PATH` or `sqlite://PATH` (relative paths are under WORKDIR);
 * `postgres://…` or `postgresql://…` kept as given (it may hold a password: never log it, see describeDatabase).
 */
function readDatabase(env: Env, workdir: string, scheduler: SchedulerConfig): DatabaseLocation {
  const raw = env.DATABASE_URL?.trim();
  if (!raw) return { dialect: "sqlite", path: resolve(workdir, "db.sqlite") };
  const sqlite = /^sqlite:(?:\/\/)?(.+)$/.exec(raw);
  if (sqlite) {
    const path = sqlite[1]!;
    return { dialect: "sqlite", path: path === ":memory:" ? path : resolve(workdir, path) };
  }
  if (/^postgres(ql)?:\/\/./.test(raw)) {
    const poolSize = readCount(env, "DATABASE_POOL_SIZE", 10);
    if (poolSize < 1) throw new ConfigError("DATABASE_POOL_SIZE", "must be 1 or more");
    return {
      dialect: "postgres",
      url: raw,
      poolSize,
      statementTimeoutMs: readCount(env, "DATABASE_STATEMENT_TIMEOUT_MS", 30_000),
      idleInTransactionTimeoutMs: scheduler.leaseTtlMs,
    };
  }
  throw new ConfigError("DATABASE_URL", "must look like sqlite:PATH or postgres://…");
}

/** The database location for people to read: an SQLite path, or a PostgreSQL URL without its password. */
export function describeDatabase(location: DatabaseLocation): string {
  if (location.dialect === "sqlite") return location.path;
  try {
    const url = new URL(location.url);
    if (url.password) url.password = "***";
    return url.toString();
  } catch {
    return "a PostgreSQL URL that cannot be parsed";
  }
}

/**
 * Refuses tokens that are surely a mistake (issue 14): a RAP API client token that is also an agent token (the
 * client could report task results, the agent could create RAPs), and one agent token for two backends (each
 * backend's agent could take the other's tasks). Both settings are named, never the token. Backends that all
 * leave their agent token unset share the reference's default, which configWarnings already flags.
 */
function checkTokensDistinct(
  env: Env,
  backends: readonly string[],
  backend: Record<string, BackendConfig>,
): void {
  const agentSetting = (name: string) => `${backendPrefix(name)}_JOB_SERVER_TOKEN`;
  const agentOf = new Map<string, string>();
  for (const name of backends) {
    const token = backend[name]!.jobServerToken;
    const other = agentOf.get(token);
    if (
      other !== undefined &&
      (env[agentSetting(name)] !== undefined || env[agentSetting(other)] !== undefined)
    )
      throw new ConfigError(
        agentSetting(name),
        `is the same token as ${agentSetting(other)}: each backend's agent needs its own`,
      );
    agentOf.set(token, name);
  }
  for (const name of backends) {
    for (const token of backend[name]!.clientTokens) {
      const agent = agentOf.get(token);
      // The unset default ("token", as in the reference) is only warned about (configWarnings): the reference's own
      // test set-ups use it as a client token too.
      if (agent !== undefined && env[agentSetting(agent)] !== undefined)
        throw new ConfigError(
          `${backendPrefix(name)}_CLIENT_TOKENS`,
          `has a token that is also ${agentSetting(agent)}: a RAP API client and an agent need different tokens`,
        );
    }
  }
}

/**
 * An operator token sees every backend's jobs and may read their logs: one that is also a client or agent token
 * would hand that to job-server or to a backend's agent.
 */
function checkOperatorTokens(
  operatorTokens: readonly string[],
  backends: readonly string[],
  backend: Record<string, BackendConfig>,
): void {
  for (const name of backends) {
    const { clientTokens, jobServerToken } = backend[name]!;
    if (operatorTokens.includes(jobServerToken))
      throw new ConfigError(
        "OPERATOR_TOKENS",
        `has a token that is also ${backendPrefix(name)}_JOB_SERVER_TOKEN`,
      );
    if (clientTokens.some((token) => operatorTokens.includes(token)))
      throw new ConfigError(
        "OPERATOR_TOKENS",
        `has a token that is also in ${backendPrefix(name)}_CLIENT_TOKENS`,
      );
  }
}

export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const backends = readBackends(env);
  const backend: Record<string, BackendConfig> = {};
  for (const name of backends) backend[name] = readBackend(env, name);
  checkTokensDistinct(env, backends, backend);
  const operatorTokens = readList(env, "OPERATOR_TOKENS", []);
  checkOperatorTokens(operatorTokens, backends, backend);
  const workdir = readWorkdir(env, cwd);
  const scheduler = readScheduler(env, backends, workdir);
  return Object.freeze({
    backends: Object.freeze(backends),
    backend: Object.freeze(backend),
    clientTokens: clientTokenMap(backends, backend),
    operatorTokens: Object.freeze(operatorTokens),
    liveLogs: readControllerLiveLogs(env),
    workdir,
    database: readDatabase(env, workdir, scheduler),
    host: readString(env, "HOST", "127.0.0.1"),
    port: readPort(env, "PORT", 8000),
    ...readGitAccess(env),
    telemetry: readTelemetry(env),
    scheduler,
    logLevel: readLogLevel(env),
    limits: readLimits(env),
  });
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/** LOGLEVEL, as the reference reads it (Python's level names too); the controller and the agent share it. */
export function readLogLevel(env: Env): string {
  const level = (env.LOGLEVEL ?? "info").trim().toLowerCase() || "info";
  // Python's name for warn.
  const normalised = level === "warning" ? "warn" : level === "critical" ? "fatal" : level;
  if (!LOG_LEVELS.includes(normalised))
    throw new ConfigError("LOGLEVEL", `must be one of ${LOG_LEVELS.join(", ")}, got '${env.LOGLEVEL}'`);
  return normalised;
}

/** Start-up warnings an operator should see (never containing a secret). */
export function configWarnings(config: Config): string[] {
  const warnings: string[] = [];
  for (const name of config.backends) {
    const backend = config.backend[name]!;
    if (backend.jobServerToken === "token") {
      const alsoClient = config.clientTokens.has("token") ? ", which is also a RAP API client token" : "";
      warnings.push(
        `${name.toUpperCase()}_JOB_SERVER_TOKEN is not set: the agent token for '${name}' is the insecure default${alsoClient}`,
      );
    }
    if (backend.clientTokens.length === 0) {
      warnings.push(
        `${name.toUpperCase()}_CLIENT_TOKENS is not set: no RAP API client can see backend '${name}'`,
      );
    }
  }
  return warnings;
}
