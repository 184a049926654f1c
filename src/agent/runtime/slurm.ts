import { createReadStream, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type ContainerEngine,
  DEFAULT_DOCKER_PIDS_LIMIT,
  DEFAULT_DOCKER_PROXY,
  DEFAULT_DOCKER_REGISTRY,
  DEFAULT_JOB_LOG_MAX_BYTES,
} from "../../config/agent.js";
import { orIfMissing, pathExists } from "../workspace/files.js";
import type { InspectDocument } from "./docker-api.js";
import { followFile } from "./follow-file.js";
import { proxyRepository } from "./image-ref.js";
import { type LogLimits, LogTail } from "./log-tail.js";
import { firstLine, runSlurm, type SlurmCommandOptions } from "./slurm-commands.js";
import {
  batchScript,
  envFile,
  JOB_FILES,
  type ScriptSpec,
  type SubmitSettings,
  sbatchArgs,
} from "./slurm-script.js";
import {
  isLive,
  LIVE_STATE_LIST,
  parseSacctJobs,
  parseScontrolJobs,
  parseSqueueJobs,
  parseUsage,
  type Recorded,
  SACCT_FORMAT,
  type SlurmJob,
  SQUEUE_FORMAT,
  slurmJobState,
  slurmTimeNs,
} from "./slurm-state.js";
import { StartRecords } from "./start-records.js";
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
  RuntimeError,
  RuntimeTimeoutError,
} from "./types.js";

export interface SlurmRuntimeOptions {
  /** SLURM_SHARED_DIR: storage shared by the agent and every node, at the same path. */
  sharedDir: string;
  /** HIGH_PRIVACY_VOLUME_DIR, checked writable at start-up like sharedDir (it must be shared too). */
  volumeDir?: string;
  /** Where `wasStarted` is recorded, on the agent's machine. Default under the system's temp directory. */
  stateDir?: string;
  /** SLURM_PARTITION, SLURM_ACCOUNT, SLURM_TIME_LIMIT, SLURM_EXTRA_ARGS. */
  submit?: Partial<SubmitSettings>;
  /** SLURM_COMMAND_TIMEOUT in ms: the longest one Slurm command may take. Default 30 s. */
  commandTimeoutMs?: number;
  /** SLURM_CONF for Slurm's commands; null for their default. */
  slurmConf?: string | null;
  /** DOCKER_REGISTRY and DOCKER_PROXY: where the nodes pull an image pinned by digest from. */
  registry?: string;
  proxy?: string;
  /** JOB_LOG_MAX_BYTES. */
  logMaxBytes?: number;
  /** DOCKER_PIDS_LIMIT; null for no limit. */
  pidsLimit?: number | null;
  /** SLURM_CONTAINER_ENGINE: the nodes' container engine. Default `docker`. */
  engine?: ContainerEngine;
}

/** How often a one-off command, or a cancelled job being removed, is looked at. */
const POLL_MS = 200;
/**
 * How long one `squeue` answer serves every job's `inspect`: the agent asks about each of its jobs every loop, and
 * one query for all of them spares the controller a query per job.
 */
const QUEUE_MAX_AGE_MS = 500;

export class SlurmRuntime implements Runtime {
  readonly kind = "slurm" as const;
  private readonly jobsDir: string;
  /** Labels of the images the recorded jobs ran, by image id, as their records gave them (for `imageLabels`). */
  private readonly labelsByImage = new Map<string, Record<string, string>>();
  private readonly submit: SubmitSettings;
  private readonly commands: SlurmCommandOptions;
  private readonly registry: string;
  private readonly proxy: string;
  private readonly logLimits: LogLimits;
  private readonly pidsLimit: number | null;
  private readonly engine: ContainerEngine;
  private readonly startRecords: StartRecords;
  private queue: { takenAt: number; jobs: Promise<Map<string, SlurmJob>> } | null = null;
  /** False once `sacct` has said the cluster keeps no accounting. */
  private accounting = true;

  constructor(options: SlurmRuntimeOptions) {
    this.jobsDir = join(options.sharedDir, "jobs");
    checkWritable("SLURM_SHARED_DIR", options.sharedDir, [this.jobsDir]);
    if (options.volumeDir !== undefined)
      checkWritable("HIGH_PRIVACY_VOLUME_DIR", options.volumeDir, [options.volumeDir]);
    this.submit = {
      partition: options.submit?.partition ?? null,
      account: options.submit?.account ?? null,
      timeLimit: options.submit?.timeLimit ?? null,
      extraArgs: options.submit?.extraArgs ?? [],
    };
    this.commands = { timeoutMs: options.commandTimeoutMs ?? 30_000, slurmConf: options.slurmConf ?? null };
    this.registry = options.registry ?? DEFAULT_DOCKER_REGISTRY;
    this.proxy = options.proxy ?? DEFAULT_DOCKER_PROXY;
    this.logLimits = { maxBytes: options.logMaxBytes ?? DEFAULT_JOB_LOG_MAX_BYTES, maxLines: LOG_TAIL_LINES };
    this.pidsLimit = options.pidsLimit === undefined ? DEFAULT_DOCKER_PIDS_LIMIT : options.pidsLimit;
    this.engine = options.engine ?? "docker";
    this.startRecords = new StartRecords(options.stateDir ?? join(tmpdir(), "rap-runner-slurm-runtime"));
  }

  /**
   * The reference to run: the tag as it is without a digest, else `{proxy repository}@{digest}`, which a node
   * pulls when it does not have it (a node that cannot is reported in the job's result).
   */
  async ensureImage(image: string, sha: string | null): Promise<string> {
    return sha === null ? image : `${proxyRepository(image, this.registry, this.proxy)}@${sha}`;
  }

  /**
   * The labels of an image a job ran (by its id, `sha256:…`), from the job's record: the executor reads them after
   * `inspect` read that record. {} for anything else.
   */
  async imageLabels(reference: string): Promise<Record<string, string>> {
    return this.labelsByImage.get(reference) ?? {};
  }

  async start(spec: ContainerSpec): Promise<void> {
    const dir = this.jobDir(spec.name);
    // No directory: no agent has submitted this job (its files are written before sbatch), so Slurm need not be
    // asked for it by name.
    if (!(await pathExists(dir))) await this.submitJob({ ...spec, labels: jobLabels(spec.labels) }, false);
    else if ((await this.recordedJobId(dir)) === null && !(await this.hasRecord(dir))) {
      const running = await this.liveJobByName(spec.name);
      if (running !== null) {
        await mkdir(dir, { recursive: true, mode: 0o700 });
        await writeFile(join(dir, JOB_FILES.jobId), running);
      } else await this.submitJob({ ...spec, labels: jobLabels(spec.labels) }, false);
    }
    await this.startRecords.record(spec.name);
  }

  wasStarted(name: string): Promise<boolean> {
    return this.startRecords.has(name);
  }

  async inspect(name: string): Promise<ContainerState | null> {
    const dir = this.jobDir(name);
    const recorded = await this.readRecord(dir);
    const id = (await this.recordedJobId(dir)) ?? (recorded.inspect ? null : await this.liveJobByName(name));
    const job = id === null ? null : await this.slurmJob(id);
    // The script may have recorded the end between the two reads: a job Slurm has finished is read again.
    const settled = job !== null && !isLive(job) && !recorded.inspect ? await this.readRecord(dir) : recorded;
    return slurmJobState(settled, job);
  }

  async logs(name: string): Promise<string> {
    return this.readTail(join(this.jobDir(name), JOB_FILES.logs));
  }

  follow(name: string, signal: AbortSignal): AsyncIterable<Buffer> {
    // The batch script writes the live log on shared storage as the container prints; it has ended when the job
    // has (or is gone), and the script has finished writing it before it records the end.
    const ended = async () => {
      const state = await this.inspect(name).catch((error: unknown) => {
        if (error instanceof RuntimeTimeoutError) return undefined; // Slurm not answering: look again later.
        throw error;
      });
      return state === null || (state !== undefined && !state.running);
    };
    return followFile(join(this.jobDir(name), JOB_FILES.live), ended, signal);
  }

  async kill(name: string): Promise<void> {
    const id = await this.jobId(name);
    if (id !== null) await this.cancel(id);
  }

  async remove(name: string): Promise<void> {
    // Forgotten first: a removal cut short leaves a job that still exists, never a record of a vanished one.
    await this.startRecords.forget(name);
    const id = await this.jobId(name);
    const job = id === null ? null : await this.slurmJob(id);
    if (id !== null && job !== null && isLive(job)) {
      // A recorded end leaves the script only its container to remove and exit: no need to cancel it.
      if (!(await this.hasRecord(this.jobDir(name)))) await this.cancel(id);
      // Until the batch script is gone: it writes into the directory removed next, and its name is taken until then.
      await this.untilNotLive(id, `removing ${name}`);
    }
    await rm(this.jobDir(name), { recursive: true, force: true });
  }

  async stats(): Promise<ContainerStats[]> {
    const running = [...(await this.queuedJobs()).values()].filter(
      (job) => job.JobState === "RUNNING" && job.JobName?.startsWith(JOB_CONTAINER_PREFIX),
    );
    const samples = await Promise.all(
      running.map(async (job) => {
        const name = job.JobName!;
        const text = await readFile(join(this.jobDir(name), JOB_FILES.usage), "utf8").catch(() => "");
        const usage = parseUsage(text);
        if (!usage) return [];
        const stats: ContainerStats = {
          jobId: name.slice(JOB_CONTAINER_PREFIX.length),
          containerId: job.JobId!,
          ...usage,
          createdAt: Math.trunc((slurmTimeNs(job.SubmitTime) ?? 0) / 1e9),
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
    const dir = this.jobDir(name);
    try {
      await this.submitJob({ ...spec, name, labels: { "job-runner": "", ...spec.labels } }, true);
      const deadline = Date.now() + spec.timeoutMs;
      for (;;) {
        const state = await this.inspect(name);
        if (state && !state.running) {
          const failed = (await this.readRecord(dir)).failed;
          if (failed !== null) throw new ImageUnavailableError(failed);
          if (state.exitCode === null)
            throw new RuntimeError(state.endedBecause ?? `${name} ended without an exit code`);
          const [stdout, stderr] = await Promise.all([
            this.readTail(join(dir, JOB_FILES.stdout)),
            this.readTail(join(dir, JOB_FILES.stderr)),
          ]);
          return { exitCode: state.exitCode, stdout, stderr };
        }
        if (Date.now() > deadline) {
          throw new RuntimeTimeoutError(
            `slurm timed out after ${spec.timeoutMs / 1000}s running ${spec.image}`,
          );
        }
        await sleep(POLL_MS);
      }
    } finally {
      await this.remove(name);
    }
  }

  /** Writes the job's files and submits it; records the Slurm job id. */
  private async submitJob(
    spec: Omit<ScriptSpec, "dir" | "pidsLimit" | "engine" | "oneOff" | "liveLogMaxBytes"> & {
      volumeDir?: string;
    },
    oneOff: boolean,
  ): Promise<void> {
    const dir = this.jobDir(spec.name);
    const script: ScriptSpec = {
      ...spec,
      dir,
      pidsLimit: this.pidsLimit,
      engine: this.engine,
      oneOff,
      liveLogMaxBytes: this.logLimits.maxBytes,
    };
    const text = batchScript(script);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(join(dir, JOB_FILES.env), envFile(spec.env), { mode: 0o600 });
    const scriptPath = join(dir, JOB_FILES.script);
    await writeFile(scriptPath, text, { mode: 0o700 });
    const { stdout, stderr, exitCode } = await this.slurm(
      "sbatch",
      sbatchArgs(script, this.submit, scriptPath),
    );
    // `--parsable`: `id` or `id;cluster`.
    const id = /^(\d+)/.exec(stdout.trim())?.[1];
    if (exitCode !== 0 || !id) {
      throw new RuntimeError(`sbatch could not submit ${spec.name}: ${firstLine(stderr) || stdout.trim()}`);
    }
    await writeFile(join(dir, JOB_FILES.jobId), id);
  }

  private async readRecord(dir: string): Promise<Recorded> {
    const [inspectText, failed] = await Promise.all([
      readFile(join(dir, JOB_FILES.inspect), "utf8").catch(orIfMissing(null)),
      readFile(join(dir, JOB_FILES.failed), "utf8").catch(orIfMissing(null)),
    ]);
    const { container, labels } = inspectDocuments(inspectText);
    if (container?.Image && labels) this.labelsByImage.set(container.Image, labels);
    return { inspect: container, failed: failed === null ? null : failed.trim() };
  }

  private async hasRecord(dir: string): Promise<boolean> {
    const recorded = await this.readRecord(dir);
    return recorded.inspect !== null || recorded.failed !== null;
  }

  private async recordedJobId(dir: string): Promise<string | null> {
    const text = await readFile(join(dir, JOB_FILES.jobId), "utf8").catch(orIfMissing(null));
    return text !== null && /^\d+$/.test(text.trim()) ? text.trim() : null;
  }

  /** The job's Slurm id: recorded, or a live job of that name (submitted by an agent that died before recording it). */
  private async jobId(name: string): Promise<string | null> {
    return (await this.recordedJobId(this.jobDir(name))) ?? (await this.liveJobByName(name));
  }

  private async liveJobByName(name: string): Promise<string | null> {
    const { stdout } = await this.slurm("squeue", [
      "--noheader",
      "--me",
      `--name=${name}`,
      `--states=${LIVE_STATE_LIST}`,
      "--format=%i",
    ]);
    return stdout.trim().split("\n")[0]?.trim() || null;
  }

  /**
   * What Slurm knows of the job, from the latest `squeue` of this user's jobs; a job missing there (submitted since,
   * or gone) is asked about on its own, then of accounting once the controller has forgotten it (MinJobAge after its
   * end). Null when neither knows it.
   */
  private async slurmJob(id: string): Promise<SlurmJob | null> {
    return (await this.queuedJobs()).get(id) ?? (await this.showJob(id));
  }

  private queuedJobs(): Promise<Map<string, SlurmJob>> {
    if (this.queue === null || Date.now() - this.queue.takenAt > QUEUE_MAX_AGE_MS) {
      const jobs = this.slurm("squeue", [
        "--noheader",
        "--me",
        "--states=all",
        `--Format=${SQUEUE_FORMAT}`,
      ]).then(({ stdout, stderr, exitCode }) => {
        if (exitCode !== 0) throw new RuntimeError(`squeue could not list jobs: ${firstLine(stderr)}`);
        return new Map(parseSqueueJobs(stdout).map((job) => [job.JobId!, job]));
      });
      const queue = { takenAt: Date.now(), jobs };
      this.queue = queue;
      // A failed answer is not kept: the next call asks again.
      jobs.catch(() => {
        if (this.queue === queue) this.queue = null;
      });
      return jobs;
    }
    return this.queue.jobs;
  }

  private async showJob(id: string): Promise<SlurmJob | null> {
    const { stdout, stderr, exitCode } = await this.slurm("scontrol", ["--oneliner", "show", "job", id]);
    if (exitCode !== 0) {
      if (/Invalid job id/i.test(stderr)) return this.accountedJob(id);
      throw new RuntimeError(`scontrol could not show job ${id}: ${firstLine(stderr)}`);
    }
    return parseScontrolJobs(stdout).find((job) => job.JobId === id) ?? null;
  }

  /**
   * The job as Slurm's accounting kept it, unless sacct has said the cluster keeps none: how a job ended that its
   * script could not record (a failed node) is still known after the controller has forgotten it.
   */
  private async accountedJob(id: string): Promise<SlurmJob | null> {
    if (!this.accounting) return null;
    const { stdout, stderr, exitCode } = await this.slurm("sacct", [
      `--jobs=${id}`,
      "--noheader",
      "--parsable2",
      "--allocations",
      `--format=${SACCT_FORMAT}`,
    ]);
    if (exitCode !== 0) {
      if (/accounting storage is disabled/i.test(stderr)) {
        this.accounting = false;
        return null;
      }
      throw new RuntimeError(`sacct could not show job ${id}: ${firstLine(stderr)}`);
    }
    return parseSacctJobs(stdout).find((job) => job.JobId === id) ?? null;
  }

  private async cancel(id: string): Promise<void> {
    const { stderr, exitCode } = await this.slurm("scancel", [id]);
    // A job that has ended is no error to cancel.
    if (exitCode !== 0 && !/Invalid job id|Job\/step already completing or completed/i.test(stderr)) {
      throw new RuntimeError(`scancel could not cancel job ${id}: ${firstLine(stderr)}`);
    }
  }

  private async untilNotLive(id: string, what: string): Promise<void> {
    const deadline = Date.now() + this.commands.timeoutMs;
    // A script that has recorded its end leaves within moments: looked at again soon, then less often.
    for (let delay = POLL_MS / 4; ; delay = Math.min(delay * 2, POLL_MS)) {
      const job = await this.showJob(id);
      if (job === null || !isLive(job)) return;
      if (Date.now() > deadline) {
        throw new RuntimeTimeoutError(`slurm timed out after ${this.commands.timeoutMs / 1000}s ${what}`);
      }
      await sleep(delay);
    }
  }

  private async readTail(path: string): Promise<string> {
    const tail = new LogTail(this.logLimits);
    try {
      for await (const chunk of createReadStream(path)) tail.push(chunk as Buffer);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return "";
      throw error;
    }
    return tail.text();
  }

  private slurm(command: string, args: readonly string[]) {
    return runSlurm(command, args, this.commands);
  }

  private jobDir(name: string): string {
    // Names become directory names: one safe path segment only.
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) throw new RuntimeError(`invalid container name ${name}`);
    return join(this.jobsDir, name);
  }
}

/** The container's inspect document and its image's labels, as the batch script recorded them (`[container, image]`). */
function inspectDocuments(text: string | null): {
  container: InspectDocument | null;
  labels: Record<string, string> | null;
} {
  let documents: unknown = null;
  try {
    documents = text === null ? null : JSON.parse(text);
  } catch {
    // A record cut short reads as none.
  }
  const [container, image] = Array.isArray(documents) ? documents : [];
  const labels = isObject(image) && isObject(image.Config) ? image.Config.Labels : null;
  return {
    container: isObject(container) ? withImageDigest(container as InspectDocument) : null,
    labels: isObject(labels) ? (labels as Record<string, string>) : null,
  };
}

/** Podman gives the image id as bare hex, Docker as `sha256:…`: the manifest's `docker_image_id` is Docker's form. */
function withImageDigest(container: InspectDocument): InspectDocument {
  const image = container.Image;
  return typeof image === "string" && /^[0-9a-f]{64}$/.test(image)
    ? { ...container, Image: `sha256:${image}` }
    : container;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A clear start-up error when a directory the nodes share cannot be written by the agent. */
function checkWritable(setting: string, root: string, dirs: readonly string[]): void {
  try {
    mkdirSync(root, { recursive: true });
    // A file written first: on read-only storage, mkdir of a missing directory reports ENOENT, not why.
    const probe = join(root, `.rap-write-check-${process.pid}`);
    writeFileSync(probe, "");
    rmSync(probe);
    for (const dir of dirs) mkdirSync(dir, { recursive: true });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new RuntimeError(
      `${setting} (${root}) is not writable by the agent: ${reason}. The Slurm runtime needs it on storage ` +
        "shared by the agent and every Slurm node, at the same path (docs/agent.md)",
    );
  }
}
