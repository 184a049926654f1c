/**
 * The container runtime the agent's job executor drives: where a job's command actually runs. Two implementations
 * share every piece of workspace logic above this seam (reference/agent.md §3): `docker` (the Docker Engine API over
 * the socket, one container per job) and `local` (a host process per job; development only, no isolation). A fake
 * implements it in memory for the executor's unit tests.
 *
 * Contract, for every implementation:
 * - A "container" is named (`os-job-{job id}` for jobs) and outlives the agent process: after an agent restart,
 *   `inspect` must still tell whether it is running or how it ended. State lives in the runtime (Docker) or on
 *   disk (local), never only in memory.
 * - `start` is idempotent: a container of that name that already exists (running or exited) is left alone. One
 *   whose start was interrupted (created, never started, no error: the agent died in between) reads as absent in
 *   `inspect`, and the next `start` completes it.
 * - `kill`, `remove`, `inspect`, `logs` and `follow` of a missing container are not errors (`inspect` answers null,
 *   `logs` an empty string, `follow` nothing).
 * - The runtime remembers, across an agent restart, which containers `start` ran (`wasStarted`) until its own
 *   `remove` removes them. A container gone from `inspect` while `wasStarted` holds was removed by someone else
 *   mid-run: the executor fails that job, never starts it again from the same volume.
 * - `logs` is bounded whatever the job printed: at most `LogLimits` (the last lines and bytes) is read into memory,
 *   the rest counted and noted in the text; the one-off output of `runToCompletion` likewise.
 * - Nothing one container does (its output, a stats or inspect answer with parts missing because it went away
 *   meanwhile) can throw outside the call that reads it, nor leave an error event or rejection unhandled.
 * - Environment values never appear on a command line or in a process title; `inspect().metadata` is what the
 *   reference stores as `container_metadata` (Docker's inspect document; for local, an equivalent) and the caller
 *   redacts env values before storing it.
 * - Every call that can hang (an unresponsive daemon) has a timeout and rejects with RuntimeTimeoutError.
 */

export type RuntimeKind = "docker" | "local";

/** Job containers are `{prefix}{job id}`: `stats` finds them by it, and the ops scripts expect it. */
export const JOB_CONTAINER_PREFIX = "os-job-";

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
  /** The database network: a pre-made Docker network; DNS blackholed, the database host pinned. */
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
  /** Host directory bind-mounted at /workspace (the job's volume), and the working directory of the command. */
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
  /** The runtime's full description of the container (Docker's inspect JSON), env not yet redacted. */
  metadata: Record<string, unknown>;
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
  /** Current usage of every running job container (`os-job-*`). */
  stats(): Promise<ContainerStats[]>;
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
