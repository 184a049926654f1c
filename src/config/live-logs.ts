/**
 * Live job logs across machines (DESIGN DECISIONS 14): a job's output leaves its backend only when the operator
 * sets LOGS_TO_CONTROLLER=true, on the agent (which sends it) and on the controller (which keeps it and serves it
 * to operator tokens). Both sides bound it: the agent in bytes per batch and per second, the controller in bytes
 * per job and in all, and in time.
 */
import { type Env, readBoolean, readCount, readPositiveNumber } from "./env.js";
import { ConfigError } from "./errors.js";

/** A batch holds at least one whole line of live output (16 KiB, src/agent/live-output.ts) and its framing. */
const MIN_BATCH_BYTES = 32 * 1024;

export interface AgentLiveLogs {
  /** LOGS_TO_CONTROLLER (default false). */
  readonly toController: boolean;
  /** LOGS_BATCH_MAX_BYTES: the most one batch of lines holds (default 64 KiB). */
  readonly maxBatchBytes: number;
  /** LOGS_MAX_BYTES_PER_SECOND: lines past this rate are left out and counted (default 32 KiB). */
  readonly maxBytesPerSecond: number;
  /** How often a batch is sent while lines come (1 s). */
  readonly batchIntervalMs: number;
}

export interface ControllerLiveLogs {
  /** LOGS_TO_CONTROLLER (default false): without it the Task API refuses log batches (404). */
  readonly toController: boolean;
  /** LOGS_RETENTION: seconds a job's lines are kept after its last batch (default 3600). */
  readonly retentionMs: number;
  /** LOGS_MAX_BYTES_PER_JOB: the last bytes of one job's output kept (default 1 MiB). */
  readonly maxBytesPerJob: number;
  /** LOGS_MAX_BYTES: all jobs' lines kept together, the oldest job's dropped first (default 64 MiB). */
  readonly maxBytes: number;
}

export function readAgentLiveLogs(env: Env): AgentLiveLogs {
  const maxBatchBytes = readCount(env, "LOGS_BATCH_MAX_BYTES", 64 * 1024);
  if (maxBatchBytes < MIN_BATCH_BYTES)
    throw new ConfigError(
      "LOGS_BATCH_MAX_BYTES",
      `must be ${MIN_BATCH_BYTES} or more, got '${maxBatchBytes}'`,
    );
  const maxBytesPerSecond = readCount(env, "LOGS_MAX_BYTES_PER_SECOND", 32 * 1024);
  if (maxBytesPerSecond < 1024)
    throw new ConfigError("LOGS_MAX_BYTES_PER_SECOND", `must be 1024 or more, got '${maxBytesPerSecond}'`);
  return Object.freeze({
    toController: readBoolean(env, "LOGS_TO_CONTROLLER", false),
    maxBatchBytes,
    maxBytesPerSecond,
    batchIntervalMs: 1000,
  });
}

export function readControllerLiveLogs(env: Env): ControllerLiveLogs {
  return Object.freeze({
    toController: readBoolean(env, "LOGS_TO_CONTROLLER", false),
    retentionMs: readPositiveNumber(env, "LOGS_RETENTION", 3600) * 1000,
    maxBytesPerJob: readCount(env, "LOGS_MAX_BYTES_PER_JOB", 1024 * 1024),
    maxBytes: readCount(env, "LOGS_MAX_BYTES", 64 * 1024 * 1024),
  });
}
