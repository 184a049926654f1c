/**
 * The scheduler's settings (reference/controller.md §8), with the reference's names and defaults, plus ours:
 * MAX_TASK_RETRIES (DESIGN DECISIONS 4), SCHEDULER_LEASE_TTL (DECISIONS 17), RESOLVE_IMAGE_DIGESTS and IMAGE_DIGEST_TIMEOUT (DECISIONS 12).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseWeights, type WeightRules, WeightsSyntaxError } from "../domain/weights.js";
import { InvalidRegistryError, parseRegistry } from "../registry/index.js";
import {
  type Env,
  readBoolean,
  readCount,
  readList,
  readNonNegativeNumber,
  readPositiveNumber,
  readString,
} from "./env.js";
import { ConfigError } from "./errors.js";

/**
 * An hour: a running job is reported on every agent poll (a second apart), so this is only reached by a task the
 * agent lost, or by one step running for an hour without a word (copying a very large job's files): generous, since
 * failing a job that was still running costs a researcher far more than an hour's wait for a lost one.
 */
const DEFAULT_TASK_SILENCE_TIMEOUT_S = 3600;
/**
 * A replica takes over from a dead lease holder within about 4/3 of this (the bound: 5 s). Long enough for
 * a pass's slowest stretch without a write on a healthy database; a pass stalled longer may lose the lease, safely.
 */
export const DEFAULT_SCHEDULER_LEASE_TTL_S = 3;

export interface BackendJobLimits {
  /** `cpu_count` sent to the agent. */
  readonly cpuCount: number;
  /** `memory_limit` sent to the agent (`4G`). */
  readonly memoryLimit: string;
}

export interface SchedulerConfig {
  /** Pause between passes (JOB_LOOP_INTERVAL seconds; 0 = back to back). */
  readonly loopIntervalMs: number;
  /** Least time between two TICK spans (TICK_POLL_INTERVAL seconds, default 30, at least 2), when tracing. */
  readonly tickPollIntervalMs: number;
  /**
   * How long the scheduler lease lasts unless renewed (SCHEDULER_LEASE_TTL seconds): every pass and every write of a
   * pass renews it; a holder that dies leaves it for another scheduler after this long.
   */
  readonly leaseTtlMs: number;
  /** Agent errors (and failing passes) a job may have before it fails with internal_error. */
  readonly maxTaskRetries: number;
  /**
   * TASK_SILENCE_TIMEOUT (seconds): a running job whose task has not been reported on for this long, while its
   * backend's agent kept polling, is failed (the agent lost it). Agents report a running job every poll (seconds),
   * but send nothing while one step (preparing, finalizing) is in progress, which may take long for large jobs.
   */
  readonly taskSilenceTimeoutS: number;
  readonly jobLimits: Readonly<Record<string, BackendJobLimits>>;
  readonly weights: Readonly<Record<string, WeightRules>>;
  readonly level4MaxFilesize: number;
  readonly level4MaxCsvRows: number;
  /** Injected into stata-mp jobs; null when unset. */
  readonly stataLicense: string | null;
  /** workspace → EHRQL_MAX_JOIN_COUNT for its database jobs (a temporary setting of the reference). */
  readonly ehrqlMaxJoinCount: Readonly<Record<string, string>>;
  readonly maintenance: { readonly backends: readonly string[]; readonly pollIntervalS: number };
  readonly dataCheck: {
    readonly backends: readonly string[];
    readonly pollIntervalS: number;
    readonly hesExpectedActivityMonth: string;
  };
  /** Where action images live (`ghcr.io/opensafely-core`): the prefix of every task's image. */
  readonly dockerRegistry: string;
  readonly resolveImageDigests: boolean;
  readonly imageDigestTimeoutMs: number;
  /** How long a resolved digest is used before the registry is asked again. */
  readonly imageDigestTtlMs: number;
}

function readWeights(workdir: string, backend: string): WeightRules | undefined {
  const file = join(workdir, `job-resource-weights_${backend.toLowerCase()}.ini`);
  if (!existsSync(file)) return undefined;
  try {
    return parseWeights(readFileSync(file, "utf8"));
  } catch (error) {
    if (error instanceof WeightsSyntaxError)
      throw new ConfigError(file, `is not a valid weights file: ${error.message}`);
    throw error;
  }
}

function readJoinCounts(env: Env): Record<string, string> {
  const raw = env.WORKSPACE_EHRQL_MAX_JOIN_COUNT?.trim();
  if (!raw) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError("WORKSPACE_EHRQL_MAX_JOIN_COUNT", "must be a JSON object of workspace → count");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
    throw new ConfigError("WORKSPACE_EHRQL_MAX_JOIN_COUNT", "must be a JSON object of workspace → count");
  return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
}

function readMonth(env: Env): string {
  const month = readString(env, "DATA_CHECK_HES_EXPECTED_ACTIVITY_MONTH", "202304").trim();
  if (!/^\d{6}$/.test(month))
    throw new ConfigError("DATA_CHECK_HES_EXPECTED_ACTIVITY_MONTH", `must be YYYYMM, got '${month}'`);
  return month;
}

function readRegistry(env: Env): string {
  const registry = readString(env, "DOCKER_REGISTRY", "ghcr.io/opensafely-core").trim().replace(/\/+$/, "");
  try {
    parseRegistry(registry);
  } catch (error) {
    if (error instanceof InvalidRegistryError) throw new ConfigError("DOCKER_REGISTRY", error.detail);
    throw error;
  }
  return registry;
}

export function readScheduler(env: Env, backends: readonly string[], workdir: string): SchedulerConfig {
  const defaultCpu = readPositiveNumber(env, "DEFAULT_JOB_CPU_COUNT", 2);
  const defaultMemory = readString(env, "DEFAULT_JOB_MEMORY_LIMIT", "4G").trim() || "4G";
  const jobLimits: Record<string, BackendJobLimits> = {};
  const weights: Record<string, WeightRules> = {};
  for (const backend of backends) {
    const prefix = backend.toUpperCase().replaceAll("-", "_");
    jobLimits[backend] = Object.freeze({
      cpuCount: readPositiveNumber(env, `${prefix}_JOB_CPU_COUNT`, defaultCpu),
      memoryLimit: env[`${prefix}_JOB_MEMORY_LIMIT`]?.trim() || defaultMemory,
    });
    const rules = readWeights(workdir, backend);
    if (rules) weights[backend] = rules;
  }
  const known = (name: string, fallback: string[]) =>
    readList(env, name, fallback).filter((b) => backends.includes(b));
  return Object.freeze({
    loopIntervalMs: readNonNegativeNumber(env, "JOB_LOOP_INTERVAL", 1) * 1000,
    // The reference waits max(2, TICK_POLL_INTERVAL - elapsed) seconds between ticks.
    tickPollIntervalMs: Math.max(2, readPositiveNumber(env, "TICK_POLL_INTERVAL", 30)) * 1000,
    leaseTtlMs: readPositiveNumber(env, "SCHEDULER_LEASE_TTL", DEFAULT_SCHEDULER_LEASE_TTL_S) * 1000,
    maxTaskRetries: Math.max(1, readCount(env, "MAX_TASK_RETRIES", 5)),
    taskSilenceTimeoutS: readPositiveNumber(env, "TASK_SILENCE_TIMEOUT", DEFAULT_TASK_SILENCE_TIMEOUT_S),
    jobLimits: Object.freeze(jobLimits),
    weights: Object.freeze(weights),
    level4MaxFilesize: readCount(env, "LEVEL4_MAX_FILESIZE", 16 * 1024 * 1024),
    level4MaxCsvRows: readCount(env, "LEVEL4_MAX_CSV_ROWS", 5000),
    stataLicense: env.STATA_LICENSE ?? null,
    ehrqlMaxJoinCount: Object.freeze(readJoinCounts(env)),
    maintenance: Object.freeze({
      backends: Object.freeze(known("MAINTENANCE_ENABLED_BACKENDS", ["tpp"])),
      pollIntervalS: readPositiveNumber(env, "MAINTENANCE_POLL_INTERVAL", 300),
    }),
    dataCheck: Object.freeze({
      backends: Object.freeze(known("DATA_CHECK_ENABLED_BACKENDS", ["tpp"])),
      pollIntervalS: readPositiveNumber(env, "DATA_CHECK_POLL_INTERVAL", 86400),
      hesExpectedActivityMonth: readMonth(env),
    }),
    dockerRegistry: readRegistry(env),
    resolveImageDigests: readBoolean(env, "RESOLVE_IMAGE_DIGESTS", true),
    imageDigestTimeoutMs: readPositiveNumber(env, "IMAGE_DIGEST_TIMEOUT", 10) * 1000,
    imageDigestTtlMs: readCount(env, "IMAGE_DIGEST_TTL", 300) * 1000,
  });
}
