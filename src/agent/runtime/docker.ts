import type { IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addAbortSignal, type Readable } from "node:stream";
import Docker from "dockerode";
import {
  DEFAULT_DOCKER_PIDS_LIMIT,
  DEFAULT_DOCKER_PROXY,
  DEFAULT_DOCKER_REGISTRY,
  DEFAULT_IMAGE_PULL_TIMEOUT_MS,
  DEFAULT_JOB_LOG_MAX_BYTES,
} from "../../config/agent.js";
import {
  containerState,
  cpuPercent,
  createOptions,
  type InspectDocument,
  type ListedContainer,
  listedJob,
  memoryUsage,
  neverStarted,
  parseDockerTimestampNs,
  pullEventError,
  type StatsDocument,
} from "./docker-api.js";
import { parseImageRef, proxyRepository } from "./image-ref.js";
import { FrameReader, type LogLimits, LogTail } from "./log-tail.js";
import { StartRecords } from "./start-records.js";
import { withTimeout } from "./timeout.js";
import {
  type ContainerSpec,
  type ContainerState,
  type ContainerStats,
  ImageUnavailableError,
  JOB_CONTAINER_PREFIX,
  jobLabels,
  LOG_TAIL_LINES,
  type OneOffResult,
  oneOffContainerName,
  type Runtime,
  RuntimeDiskSpaceError,
  RuntimeError,
  RuntimeTimeoutError,
} from "./types.js";

export interface DockerRuntimeOptions {
  /** The daemon's Unix socket. Default /var/run/docker.sock (see `socketPathFromDockerHost`). */
  socketPath?: string;
  /** `DOCKER_REGISTRY`: the registry prefix job images carry. Default `ghcr.io/opensafely-core`. */
  registry?: string;
  /** `DOCKER_PROXY`: the pull-through proxy that replaces the registry prefix when pulling. */
  proxy?: string;
  /** `IMAGE_PULL_TIMEOUT` in ms, per pull attempt. Default 1,200 s. */
  pullTimeoutMs?: number;
  /** Timeout of every other API call. Default 30 s. */
  callTimeoutMs?: number;
  /** JOB_LOG_MAX_BYTES: the most of a container's output `logs` keeps. */
  logMaxBytes?: number;
  /** DOCKER_PIDS_LIMIT: processes a job container may have at once; null for no limit. Default 4,096. */
  pidsLimit?: number | null;
  /**
   * Where the runtime records which containers it started (`wasStarted`); must outlive the agent process. The agent
   * passes `{WORKDIR}/docker-runtime`; the default, under the system's temp directory, is for tests and tools.
   */
  stateDir?: string;
}

const DEFAULT_SOCKET = "/var/run/docker.sock";
const PULL_ATTEMPTS = 3;
const PULL_RETRY_DELAY_MS = 1000;
/**
 * Reading a container's output may take far longer than any other call: for the last lines of a log whose lines
 * are huge, the daemon streams all of it (up to the log driver's 200 × 20 MB), while only the tail is kept.
 */
const LOG_READ_TIMEOUT_MS = 10 * 60_000;
const PROGRESS_LINE_MAX = 64 * 1024;

/** The socket path named by a `DOCKER_HOST` value (`unix:///run/docker.sock`); only Unix sockets are supported. */
export function socketPathFromDockerHost(dockerHost: string | undefined): string {
  if (!dockerHost) return DEFAULT_SOCKET;
  if (dockerHost.startsWith("unix://")) return dockerHost.slice("unix://".length);
  throw new RuntimeError(`DOCKER_HOST ${dockerHost} is not supported: only unix:// sockets are`);
}

/** An API error's HTTP status, when the daemon answered one. */
function statusOf(error: unknown): number | undefined {
  return typeof error === "object" && error !== null && "statusCode" in error
    ? (error as { statusCode?: number }).statusCode
    : undefined;
}

/** For `.catch(...)`: answers `value` for the listed statuses and rethrows anything else. */
function onStatus<T>(statuses: readonly number[], value: T): (error: unknown) => T {
  return (error) => {
    const status = statusOf(error);
    if (status !== undefined && statuses.includes(status)) return value;
    throw error;
  };
}

const NOT_FOUND = 404;
const CONFLICT = 409;
const NOT_MODIFIED = 304;

export class DockerRuntime implements Runtime {
  readonly kind = "docker" as const;
  private readonly docker: Docker;
  private readonly registry: string;
  private readonly proxy: string;
  private readonly pullTimeoutMs: number;
  private readonly callTimeoutMs: number;
  private readonly logLimits: LogLimits;
  private readonly pidsLimit: number | null;
  private readonly startRecords: StartRecords;

  constructor(options: DockerRuntimeOptions = {}) {
    // An explicit socket path keeps docker-modem from reading DOCKER_HOST or DOCKER_CERT_PATH itself.
    this.docker = new Docker({ socketPath: options.socketPath ?? DEFAULT_SOCKET });
    this.registry = options.registry ?? DEFAULT_DOCKER_REGISTRY;
    this.proxy = options.proxy ?? DEFAULT_DOCKER_PROXY;
    this.pullTimeoutMs = options.pullTimeoutMs ?? DEFAULT_IMAGE_PULL_TIMEOUT_MS;
    this.callTimeoutMs = options.callTimeoutMs ?? 30_000;
    this.logLimits = { maxBytes: options.logMaxBytes ?? DEFAULT_JOB_LOG_MAX_BYTES, maxLines: LOG_TAIL_LINES };
    this.pidsLimit = options.pidsLimit === undefined ? DEFAULT_DOCKER_PIDS_LIMIT : options.pidsLimit;
    this.startRecords = new StartRecords(options.stateDir ?? join(tmpdir(), "rap-runner-docker-runtime"));
  }

  /** True when the daemon answers a ping within the call timeout. */
  async ping(): Promise<boolean> {
    try {
      await this.call("pinging the daemon", () => this.docker.ping());
      return true;
    } catch {
      return false;
    }
  }

  async ensureImage(image: string, sha: string | null): Promise<string> {
    if (sha === null) {
      if (!(await this.inspectImage(image)))
        throw new ImageUnavailableError(`Docker image ${image} is not available on this backend`);
      return image;
    }
    const local = await this.localImageWithDigest(sha);
    if (local) return local;
    const repository = proxyRepository(image, this.registry, this.proxy);
    await this.pull(repository, sha, image);
    const pulled = `${repository}@${sha}`;
    await this.tagIfNewer(pulled, image);
    return pulled;
  }

  async imageLabels(reference: string): Promise<Record<string, string>> {
    const info = await this.inspectImage(reference);
    return info?.Config?.Labels ?? {};
  }

  async start(spec: ContainerSpec): Promise<void> {
    const container = this.docker.getContainer(spec.name);
    const created = await this.create(
      spec.name,
      spec.image,
      createOptions(spec, jobLabels(spec.labels), this.pidsLimit),
    );
    // It exists: only a container whose start was interrupted (created, never started, no error) is ours to
    // finish; anything else is left exactly as it is.
    const finish = created || neverStarted((await this.inspectRaw(spec.name)) ?? {});
    if (finish) {
      await this.call(`starting container ${spec.name}`, (abortSignal) =>
        container.start({ abortSignal }).catch(onStatus([NOT_MODIFIED], undefined)),
      );
    }
    await this.startRecords.record(spec.name);
  }

  wasStarted(name: string): Promise<boolean> {
    return this.startRecords.has(name);
  }

  async inspect(name: string): Promise<ContainerState | null> {
    const info = await this.inspectRaw(name);
    // A container that was created but never started is not yet a job that ran: `start` will complete it.
    if (!info || neverStarted(info)) return null;
    return containerState(info);
  }

  async logs(name: string): Promise<string> {
    const tail = new LogTail(this.logLimits);
    await this.readLogs(name, { timestamps: true, tail: LOG_TAIL_LINES }, (_stream, data) => tail.push(data));
    return tail.text();
  }

  async *follow(name: string, signal: AbortSignal): AsyncIterable<Buffer> {
    // Docker ends a followed stream when the container stops; no timeout, as a job may run for days.
    const response = await new Promise<IncomingMessage | null>((resolve, reject) => {
      this.docker.modem.dial(
        {
          path: `/containers/${encodeURIComponent(name)}/logs?`,
          method: "GET",
          isStream: true,
          abortSignal: signal,
          statusCodes: { 200: true, 404: "no such container", 500: "server error" },
          options: { stdout: true, stderr: true, follow: true, timestamps: true },
        },
        (error: unknown, stream: unknown) => (error ? reject(error) : resolve(stream as IncomingMessage)),
      );
    }).catch((error: unknown) => (signal.aborted ? null : onStatus([NOT_FOUND], null)(error)));
    if (!response) return;
    const payloads: Buffer[] = [];
    const frames = new FrameReader((_stream, data) => payloads.push(data));
    try {
      for await (const chunk of addAbortSignal(signal, response)) {
        frames.push(chunk as Buffer);
        yield* payloads.splice(0);
      }
    } catch (error) {
      if (!signal.aborted) throw error;
    } finally {
      response.destroy();
    }
  }

  async kill(name: string): Promise<void> {
    await this.call(`killing container ${name}`, (abortSignal) =>
      this.docker
        .getContainer(name)
        .kill({ abortSignal })
        .catch(onStatus([NOT_FOUND, CONFLICT], undefined)),
    );
  }

  async remove(name: string): Promise<void> {
    // Forgotten first: a removal cut short leaves a container that still exists, never a record of a vanished one.
    await this.startRecords.forget(name);
    // 409: a removal already in progress.
    await this.call(`removing container ${name}`, (abortSignal) =>
      this.docker
        .getContainer(name)
        .remove({ force: true, abortSignal })
        .catch(onStatus([NOT_FOUND, CONFLICT], undefined)),
    );
  }

  async stats(signal?: AbortSignal): Promise<ContainerStats[]> {
    const listed: ListedContainer[] = await this.call(
      "listing job containers",
      (abortSignal) =>
        this.docker.listContainers({
          filters: { name: [JOB_CONTAINER_PREFIX], status: ["running"] },
          abortSignal,
        }),
      this.callTimeoutMs,
      signal,
    );
    const jobs = (Array.isArray(listed) ? listed : []).flatMap((entry) => {
      const job = listedJob(entry, JOB_CONTAINER_PREFIX);
      return job ? [job] : [];
    });
    const samples = await Promise.all(
      jobs.map(async (job) => {
        // Not streamed: the daemon takes two samples a moment apart, so precpu_stats is filled and the CPU share
        // is a rate, as `docker stats` shows it. A container that stops meanwhile is simply left out.
        const sample: StatsDocument | null = await this.call(
          `reading stats of container ${job.name}`,
          (abortSignal) =>
            this.docker
              .getContainer(job.id)
              .stats({ stream: false, abortSignal } as { stream: false })
              .catch(onStatus([NOT_FOUND, CONFLICT], null)),
          this.callTimeoutMs,
          signal,
        );
        if (!sample) return [];
        const stats: ContainerStats = {
          jobId: job.name.slice(JOB_CONTAINER_PREFIX.length),
          containerId: job.id,
          cpuPercent: cpuPercent(sample),
          memoryBytes: memoryUsage(sample),
          createdAt: job.created,
        };
        return [stats];
      }),
    );
    return samples.flat();
  }

  async runToCompletion(
    spec: Omit<ContainerSpec, "volumeDir" | "name"> & { timeoutMs: number },
  ): Promise<OneOffResult> {
    const name = oneOffContainerName();
    const container = this.docker.getContainer(name);
    await this.create(
      name,
      spec.image,
      createOptions(spec, { "job-runner": "", ...spec.labels }, this.pidsLimit),
    );
    try {
      await this.call(`starting container ${name}`, (abortSignal) => container.start({ abortSignal }));
      const ended = await this.call(
        `running ${spec.image}`,
        (abortSignal) => container.wait({ abortSignal }) as Promise<{ StatusCode: number }>,
        spec.timeoutMs,
      );
      const stdout = new LogTail(this.logLimits);
      const stderr = new LogTail(this.logLimits);
      await this.readLogs(name, {}, (stream, data) => (stream === 2 ? stderr : stdout).push(data));
      return { exitCode: ended.StatusCode, stdout: stdout.text(), stderr: stderr.text() };
    } finally {
      await this.remove(name);
    }
  }

  /** Creates a container; false when one of that name exists already. A missing image is ImageUnavailableError. */
  private async create(
    name: string,
    image: string,
    options: Docker.ContainerCreateOptions,
  ): Promise<boolean> {
    try {
      return await this.call(`creating container ${name}`, (abortSignal) =>
        this.docker
          .createContainer({ ...options, name, abortSignal })
          .then(() => true)
          .catch(onStatus([CONFLICT], false)),
      );
    } catch (error) {
      const cause = error instanceof Error ? error.cause : undefined;
      if (statusOf(cause) === NOT_FOUND && String((cause as Error).message).includes("No such image")) {
        throw new ImageUnavailableError(`Docker image ${image} is not available on this backend`, { cause });
      }
      throw error;
    }
  }

  /**
   * Streams a container's output (not following it) frame by frame to `onPayload`. Never one buffer or string:
   * dockerode's `logs` gathers the whole answer and decodes it, which throws, uncaught, past V8's string limit.
   * A missing container has no output.
   */
  private async readLogs(
    name: string,
    query: { timestamps?: boolean; tail?: number },
    onPayload: (stream: number, data: Buffer) => void,
  ): Promise<void> {
    const frames = new FrameReader(onPayload);
    const timeoutMs = Math.max(this.callTimeoutMs, LOG_READ_TIMEOUT_MS);
    await this.call(
      `reading the logs of container ${name}`,
      async (abortSignal) => {
        const response = await new Promise<IncomingMessage | null>((resolve, reject) => {
          this.docker.modem.dial(
            {
              path: `/containers/${encodeURIComponent(name)}/logs?`,
              method: "GET",
              isStream: true,
              abortSignal,
              statusCodes: { 200: true, 404: "no such container", 500: "server error" },
              options: { stdout: true, stderr: true, follow: false, ...query },
            },
            (error: unknown, stream: unknown) => (error ? reject(error) : resolve(stream as IncomingMessage)),
          );
        }).catch(onStatus([NOT_FOUND], null));
        if (!response) return;
        // Async iteration turns the stream's 'error' into a rejection; the signal ends it at the timeout.
        for await (const chunk of addAbortSignal(abortSignal, response)) frames.push(chunk as Buffer);
      },
      timeoutMs,
    );
  }

  private inspectRaw(name: string): Promise<InspectDocument | null> {
    return this.call(`inspecting container ${name}`, (abortSignal) =>
      this.docker
        .getContainer(name)
        .inspect({ abortSignal })
        .catch(onStatus([NOT_FOUND], null)),
    );
  }

  private inspectImage(reference: string): Promise<Docker.ImageInspectInfo | null> {
    // dockerode's image inspect takes no abort signal: the timeout still bounds the wait.
    return this.call(`inspecting image ${reference}`, () =>
      this.docker
        .getImage(reference)
        .inspect()
        .catch(onStatus([NOT_FOUND], null)),
    );
  }

  /**
   * A local image with this digest: a manifest digest in any repository's RepoDigests (content-addressed, so any
   * repository holding it holds the same image), or the image id itself. Answers a reference that runs it.
   */
  private async localImageWithDigest(sha: string): Promise<string | null> {
    const images = await this.call("listing images", (abortSignal) =>
      this.docker.listImages({ digests: true, abortSignal }),
    );
    for (const image of images) {
      const byDigest = (image.RepoDigests ?? []).find((d) => d.endsWith(`@${sha}`));
      if (byDigest) return byDigest;
      if (image.Id === sha) return sha;
    }
    return null;
  }

  /** Pulls `{repository}@{sha}`: up to three attempts a second apart; a timeout is not retried. */
  private async pull(repository: string, sha: string, image: string): Promise<void> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= PULL_ATTEMPTS; attempt++) {
      try {
        await this.call(
          `pulling ${repository}@${sha}`,
          (abortSignal) => this.pullOnce(repository, sha, abortSignal),
          this.pullTimeoutMs,
        );
        return;
      } catch (error) {
        if (error instanceof RuntimeTimeoutError) throw error;
        lastError = error;
        if (attempt < PULL_ATTEMPTS) await new Promise((resolve) => setTimeout(resolve, PULL_RETRY_DELAY_MS));
      }
    }
    const reason = lastError instanceof Error ? lastError.message : String(lastError);
    throw new ImageUnavailableError(
      `Docker image ${image} (${sha}) is not available on this backend and could not be pulled from ${repository}: ${reason}`,
      { cause: lastError },
    );
  }

  private async pullOnce(repository: string, sha: string, abortSignal: AbortSignal): Promise<void> {
    const stream = await this.docker.createImage({ fromImage: repository, tag: sha, abortSignal });
    // The daemon reports a failed pull inside the stream, after a 200 answer. Read here rather than with
    // docker-modem's followProgress, whose JSON.parse of a malformed line throws outside any caller.
    let pending = "";
    let failure: string | null = null;
    for await (const chunk of addAbortSignal(abortSignal, stream as NodeJS.ReadableStream & Readable)) {
      const lines = (pending + String(chunk)).split("\n");
      // A progress line is short: an endless one is dropped rather than gathered.
      pending = (lines.pop() ?? "").slice(0, PROGRESS_LINE_MAX);
      for (const line of lines) failure ??= pullEventError(line);
    }
    failure ??= pullEventError(pending);
    if (failure !== null) throw new RuntimeError(failure);
  }

  /**
   * Points the human-friendly tag (`ghcr.io/opensafely-core/ehrql:v1`) at a freshly pulled image when the tag is
   * missing or names an older image, as the reference does; a tag never moves back to an older image.
   */
  private async tagIfNewer(pulled: string, image: string): Promise<void> {
    const { repository, tag } = parseImageRef(image);
    if (tag === null) return;
    const created = async (reference: string) => {
      const info = await this.inspectImage(reference);
      return info ? (parseDockerTimestampNs(info.Created) ?? 0) : null;
    };
    const [pulledAt, taggedAt] = await Promise.all([created(pulled), created(image)]);
    if (pulledAt === null || (taggedAt !== null && taggedAt >= pulledAt)) return;
    await this.call(`tagging ${pulled} as ${image}`, (abortSignal) =>
      this.docker.getImage(pulled).tag({ repo: repository, tag, abortSignal }),
    );
  }

  /**
   * Runs one API call under a timeout, aborting the request when it fires, and words any failure. `stop` aborting
   * (the caller no longer wants the answer) aborts the request too, and the call rejects with its reason as it is.
   */
  private async call<T>(
    what: string,
    run: (signal: AbortSignal) => Promise<T>,
    timeoutMs = this.callTimeoutMs,
    stop?: AbortSignal,
  ) {
    try {
      return await withTimeout("docker", what, timeoutMs, run, stop);
    } catch (error) {
      if (error instanceof RuntimeError || stop?.aborted) throw error;
      const message = error instanceof Error ? error.message : String(error);
      if (message.includes("no space left on device")) {
        throw new RuntimeDiskSpaceError(`docker ran out of disk space ${what}: ${message}`, { cause: error });
      }
      throw new RuntimeError(`docker failed ${what}: ${message}`, { cause: error });
    }
  }
}
