/**
 * The container runtime the agent's job executor drives: where a job's command actually runs. Every piece of
 * workspace logic sits above this seam (reference/agent.md §3); below it, one implementation per `EXECUTOR`, kept
 * in a registry (index.ts): `docker` (the Docker Engine API over the socket, one container per job), `local` (a
 * host process per job; development only, no isolation) and `slurm` (each job's container run by a Slurm batch job
 * on a cluster node). A fake implements it in memory for the executor's unit tests.
 *
 * What a runtime must provide, whatever runs the job and wherever:
 * - Start: `start` runs the job's command detached, in its volume, with its limits, network and labels. A job is
 *   named (`os-job-{job id}`); the name is how the runtime finds it again.
 * - State, exit code, OOM: `inspect` tells whether the job is still running (queued counts as running: it has been
 *   handed over) or how it ended. State lives outside the agent process (in the engine, the workload manager or on
 *   disk), never only in memory, so after an agent restart a new runtime object finds every job by its name.
 * - Logs: `logs`, bounded (below); `follow`, the output as it is written. Stats: `stats`, the usage of its running
 *   jobs, wherever they run.
 * - Terminate: `kill`, queued or running. Clean up: `remove`, whatever is left of the job.
 * - Metadata: `inspect().metadata` is the runtime's own description of the job (Docker's inspect document; an
 *   equivalent for the others), stored by the executor as the reference's `container_metadata`. Environment values
 *   sit only under `Config.Env` there, as `KEY=value` strings, which the caller redacts before storing.
 * - Its own settings: each runtime takes its own options (index.ts), and states what must be shared with the
 *   machines that run its jobs (the volume directory, for a runtime whose jobs run elsewhere).
 *
 * And the rules every implementation keeps:
 * - `start` is idempotent: a job of that name that already exists (queued, running or ended) is left alone. One
 *   whose start was interrupted (created, never started, no error: the agent died in between) reads as absent in
 *   `inspect`, and the next `start` completes it.
 * - `kill`, `remove`, `inspect`, `logs` and `follow` of a missing job are not errors (`inspect` answers null,
 *   `logs` an empty string, `follow` nothing).
 * - The runtime remembers, across an agent restart, which jobs `start` ran (`wasStarted`) until its own
 *   `remove` removes them. A job gone from `inspect` while `wasStarted` holds was removed by someone else
 *   mid-run: the executor fails that job, never starts it again from the same volume.
 * - `logs` is bounded whatever the job printed: at most `LogLimits` (the last lines and bytes) is read into memory,
 *   the rest counted and noted in the text; the one-off output of `runToCompletion` likewise.
 * - Nothing one job does (its output, a stats or inspect answer with parts missing because it went away
 *   meanwhile) can throw outside the call that reads it, nor leave an error event or rejection unhandled.
 * - Environment values never appear on a command line or in a process title.
 * - Every call that can hang (an unresponsive daemon or workload manager) has a timeout and rejects with
 *   RuntimeTimeoutError, which the agent retries with backoff: the job waits, the agent carries on.
 */

import { randomBytes } from "node:crypto";
import type { ExecutorKind } from "../../config/agent.js";

/** The runtimes by their `EXECUTOR` name (index.ts has one entry for each). */
export type RuntimeKind = ExecutorKind;

/** Job containers are `{prefix}{job id}`: `stats` finds them by it, and the ops scripts expect it. */
export const JOB_CONTAINER_PREFIX = "os-job-";

/**
 * A one-off command's container (`runToCompletion`): not `os-job-…`, so metrics and the ops scripts never mistake
 * a status check for a job.
 */
export function oneOffContainerName(): string {
  return `os-run-${randomBytes(6).toString("hex")}`;
}

/** `logs` keeps the last this many lines, as the reference's `docker logs --tail` does. */
export const LOG_TAIL_LINES = 100_000;

/** The labels `start` puts on a job container: ops scripts filter on `jobrunner-local`; `job-runner` marks all. */
export function jobLabels(extra: Readonly<Record<string, string>>): Record<string, string> {
  return { "job-runner": "", "jobrunner-local": "", ...extra };
}

/** Network access for a job container. */
export type NetworkSpec =
  /** No network at all (every job that may not reach the database). */
  | { kind: "none" }
  /**
   * The database network: a network the container engine already has (on every node, for a runtime whose jobs run
   * elsewhere); DNS blackholed, the database host pinned.
   */
  | { kind: "database"; network: string; extraHosts: ReadonlyArray<{ host: string; ip: string }> }
  /** The runtime's default network (a database job on a dummy-data backend, as the reference does). */
  | { kind: "default" };

export interface ContainerSpec {
  /** `os-job-{job id}`. */
  name: string;
  /** The image reference `ensureImage` returned. */
  image: string;
  /** Arguments after the image's entrypoint. */
  args: readonly string[];
  env: Readonly<Record<string, string>>;
  /**
   * The job's volume: a directory bind-mounted at /workspace, and the working directory of the command. For a
   * runtime whose jobs run on other machines, it is on storage they share, at the same path.
   */
  volumeDir: string;
  /** CPUs (`2.0`); null for no limit. */
  cpuCount: number | null;
  /** Docker's memory syntax (`4G`, `512m`); null for no limit. */
  memoryLimit: string | null;
  network: NetworkSpec;
  /** `uid:gid` to run as; null for the runtime's default. */
  user: string | null;
  /** Extra labels (`workspace`, `action`). `start` adds `jobLabels`; a one-off never carries `jobrunner-local`. */
  labels: Readonly<Record<string, string>>;
}

export interface ContainerState {
  running: boolean;
  /** Null while running, or when the runtime could not tell. */
  exitCode: number | null;
  oomKilled: boolean;
  /** Unix nanoseconds; null when unknown. */
  startedAtNs: number | null;
  finishedAtNs: number | null;
  /** The local image id the container runs (`sha256:…` config digest for Docker). */
  imageId: string | null;
  /** The memory limit in bytes, 0 for none (for `Job ran out of memory (limit was 4.00GB)`). */
  memoryLimitBytes: number;
  /** The runtime's own full description of the job (Docker's inspect JSON …), env not yet redacted. */
  metadata: Record<string, unknown>;
  /**
   * Why the job ended, when the runtime knows better than its exit code (a wall-time limit, a failed node), worded
   * for the researcher; absent otherwise.
   */
  endedBecause?: string;
}

export interface ContainerStats {
  /** The job id (container name without `os-job-`). */
  jobId: string;
  containerId: string;
  /** 100 = one core. */
  cpuPercent: number;
  memoryBytes: number;
  /** Unix seconds of the container's creation. */
  createdAt: number;
}

export interface OneOffResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface Runtime {
  readonly kind: RuntimeKind;
  /**
   * Makes the image available and returns the reference to run. With a digest: a local reference to that digest
   * (any repository holding it, or the image id itself), else `{proxy repository}@{sha}` after pulling it; without
   * one (null): the local tag `image` as it is. The local runtime ignores the digest and answers `image`. Throws
   * ImageUnavailableError with a message a researcher can read when it cannot be had.
   */
  ensureImage(image: string, sha: string | null): Promise<string>;
  /** Labels of a local image (`org.opencontainers.image.version` …); {} when it has none or is not there. */
  imageLabels(reference: string): Promise<Record<string, string>>;
  /** Starts the job's command detached. Idempotent (see the contract above). */
  start(spec: ContainerSpec): Promise<void>;
  inspect(name: string): Promise<ContainerState | null>;
  /**
   * The container's output (its last LOG_TAIL_LINES lines, at most the runtime's JOB_LOG_MAX_BYTES, preceded by a
   * note of what was left out), stdout and stderr merged, each line prefixed with an RFC 3339 timestamp and a space.
   */
  logs(name: string): Promise<string>;
  /**
   * The container's output as it is written, from its first line (the same timestamped lines as `logs`, not cut to
   * JOB_LOG_MAX_BYTES), in chunks as they come; ends once the container has ended and all it printed was given, at
   * once for a missing container, or when `signal` aborts. Only a chunk at a time is held, whatever the job prints.
   * For `rap logs -f` and live logs: reading never changes the container.
   */
  follow(name: string, signal: AbortSignal): AsyncIterable<Buffer>;
  /** True when `start` ran this container and this runtime's `remove` has not removed it since (see above). */
  wasStarted(name: string): Promise<boolean>;
  /** SIGKILL (exit 137); no wait. */
  kill(name: string): Promise<void>;
  /** Removes the container (killing it if needed) and forgets that it was started. */
  remove(name: string): Promise<void>;
  /**
   * Current usage of every running job (`os-job-*`) this runtime runs, on whichever machine. Once `signal` aborts
   * (the agent is stopping) the answer is not wanted: a runtime that waits on a daemon stops waiting and rejects.
   */
  stats(signal?: AbortSignal): Promise<ContainerStats[]>;
  /** Runs a short-lived command to completion (DBSTATUS / DBDATACHECK utilities), removed afterwards. */
  runToCompletion(
    spec: Omit<ContainerSpec, "volumeDir" | "name"> & { timeoutMs: number },
  ): Promise<OneOffResult>;
}

export class RuntimeError extends Error {
  readonly code: string = "RUNTIME_ERROR";
}

export class RuntimeTimeoutError extends RuntimeError {
  override readonly code = "RUNTIME_TIMEOUT";
}

export class ImageUnavailableError extends RuntimeError {
  override readonly code = "IMAGE_UNAVAILABLE";
}

/** The daemon ran out of disk space (the reference's DockerDiskSpaceError): an operator problem, not the job's. */
export class RuntimeDiskSpaceError extends RuntimeError {
  override readonly code = "RUNTIME_DISK_SPACE";
}
