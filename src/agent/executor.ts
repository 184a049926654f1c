/**
 * The job executor (the reference's LocalDockerAPI, reference/agent.md §1.7, §2.3, §3) over the container runtime
 * seam. It holds no state of its own: every answer is worked out from the runtime (is there a container, has it
 * exited) and the filesystem (volume, timestamp file, this task's metadata), so a restarted agent carries on where
 * the last one stopped. Every transition is guarded by the current state and may be repeated.
 */
import { statfs } from "node:fs/promises";
import { dirname, join } from "node:path";
import { nowNanos } from "../domain/clock.js";
import { AgentStage, type JobDefinition } from "../domain/task.js";
import { checkoutCommit, type GitSettings, readFileFromRepo } from "../git/index.js";
import { parseProject } from "../pipeline/index.js";
import { ArchivedWorkspaceError, describeError, JobPreparationError } from "./errors.js";
import type { AgentLogger } from "./log.js";
import type { MetricsStore } from "./metrics.js";
import { pinnedHost } from "./network.js";
import type { ContainerState, NetworkSpec, Runtime } from "./runtime/types.js";
import { statusMessage } from "./status-message.js";
import { copyFileAtomic, pathExists, WorkspaceDiskFullError, writeFileAtomic } from "./workspace/files.js";
import { jobSummary, type NamedRow } from "./workspace/logs.js";
import { type MatchedOutputs, matchOutputs, overLimit } from "./workspace/matching.js";
import {
  type JobMetadata,
  readJobMetadata,
  readTaskMetadata,
  redactContainerMetadata,
  writeJobMetadata,
} from "./workspace/metadata.js";
import { shownName } from "./workspace/names.js";
import { OUTPUTS_DISK_FULL_MESSAGE, OUTPUTS_TOO_LARGE_MESSAGE, persistOutputs } from "./workspace/outputs.js";
import {
  type AgentLayout,
  actionLogPath,
  containerName,
  hostVolumeDir,
  jobLogDir,
  safeRelativePath,
  safeSegment,
  volumeDir,
  workspaceDir,
} from "./workspace/paths.js";
import {
  copyInputs,
  createVolume,
  deleteVolume,
  listVolume,
  newerFiles,
  readTimestamp,
  volumeExists,
  writeTimestamp,
} from "./workspace/volume.js";

export interface JobStatus {
  state: AgentStage;
  /** Unix ns; null when the runtime could not tell. */
  timestampNs: number | null;
  results: Record<string, unknown>;
}

/** An agent error being recorded against a job (the reference's `error` dict). */
export interface JobError {
  exception: string;
  message: string;
  traceback: string;
}

export interface ExecutorSettings {
  readonly usingDummyDataBackend: boolean;
  /** DATABASE_ACCESS_NETWORK; empty for none. */
  readonly databaseAccessNetwork: string;
  /** `uid:gid` for the job's process; null for the runtime's default. */
  readonly user: string | null;
  /** MAX_JOB_OUTPUT_BYTES: the most a job's outputs may total; 0 for no limit. */
  readonly maxJobOutputBytes: number;
}

export interface ExecutorDeps {
  readonly runtime: Runtime;
  readonly layout: AgentLayout;
  readonly git: GitSettings;
  readonly settings: ExecutorSettings;
  readonly metrics: MetricsStore;
  readonly log: AgentLogger;
}

const ARCHIVE_SUFFIXES = [".tar.gz", ".tar.zstd", ".tar.xz"];

const IMAGE_LABELS: ReadonlyArray<[string, string]> = [
  ["action_version", "org.opencontainers.image.version"],
  ["action_revision", "org.opencontainers.image.revision"],
  ["action_created", "org.opencontainers.image.created"],
  ["base_revision", "org.opensafely.base.vcs-ref"],
  ["base_created", "org.opencontainers.base.build-date"],
];

export class JobExecutor {
  constructor(private readonly deps: ExecutorDeps) {}

  /** The job's state, from the runtime and the filesystem only (§2.3). */
  async getStatus(job: JobDefinition, options: { cancelled?: boolean } = {}): Promise<JobStatus> {
    return (await this.observe(job, options)).status;
  }

  /** Makes the volume: the code at the job's commit, the input files, and the timestamp that marks it prepared. */
  async prepare(job: JobDefinition): Promise<void> {
    const { runtime, layout, git } = this.deps;
    await this.refuseArchived(job.workspace);
    await runtime.ensureImage(job.image, job.image_sha);
    if ((await this.getStatus(job)).state !== AgentStage.Unknown) return;
    const volume = volumeDir(layout, job.id);
    await createVolume(volume);
    const inputs = await this.inputFiles(job);
    await checkoutCommit(job.repo_url, job.commit, volume, git);
    const missing = await copyInputs(workspaceDir(layout, "high", job.workspace), volume, inputs);
    if (missing !== null) {
      throw new JobPreparationError(
        `The file ${missing} doesn't exist in workspace ${job.workspace} as requested for job ${job.id}`,
      );
    }
    await writeTimestamp(volume, BigInt(nowNanos()));
  }

  /** Starts the job's container. `secrets` (database URL …) go only into the running container's environment. */
  async execute(job: JobDefinition, secrets: Readonly<Record<string, string>> = {}): Promise<void> {
    const { runtime, layout, settings } = this.deps;
    if ((await this.getStatus(job)).state !== AgentStage.Prepared) return;
    const image = await runtime.ensureImage(job.image, job.image_sha);
    await runtime.start({
      name: containerName(job.id),
      image,
      args: job.args,
      env: { HOME: "/tmp", ...job.env, ...secrets },
      volumeDir: hostVolumeDir(layout, job.id),
      cpuCount: job.cpu_count === null ? null : Number(job.cpu_count),
      memoryLimit: job.memory_limit,
      network: await this.network(job, secrets.DATABASE_URL),
      user: settings.user,
      labels: {
        workspace: safeSegment(job.workspace, "workspace"),
        action: safeSegment(job.action, "action"),
      },
    });
  }

  /**
   * Records how the job ended: outputs, level 4 checks, manifest, logs, and last the metadata file that makes it
   * FINALIZED (or ERROR, with `error`). A cancelled or errored job keeps no outputs. Does nothing for a job that is
   * already finalized, or that never ran and is neither cancelled nor errored.
   */
  async finalize(
    job: JobDefinition,
    options: { cancelled?: boolean; error?: JobError | null } = {},
  ): Promise<void> {
    const cancelled = options.cancelled ?? false;
    const error = options.error ?? null;
    const { status, container, vanished } = await this.observe(job);
    if (status.state === AgentStage.Finalized || status.state === AgentStage.Error) return;
    if (!cancelled && !error && status.state !== AgentStage.Executed) return;
    await this.finalizeJob(job, container, cancelled, error, vanished);
  }

  /**
   * Kills the job's container (exit 137); no wait. Also in ERROR, since finalizing with an error leaves a running
   * container running, and in PREPARED (nothing to kill yet), as the reference allows; any other state is a no-op.
   */
  async terminate(job: JobDefinition): Promise<void> {
    const state = (await this.getStatus(job)).state;
    if (state === AgentStage.Executing || state === AgentStage.Error || state === AgentStage.Prepared) {
      await this.deps.runtime.kill(containerName(job.id));
    }
  }

  /** Removes the container and the volume; metadata and logs stay. */
  async cleanup(job: JobDefinition): Promise<JobStatus> {
    const { runtime, layout, log } = this.deps;
    await runtime.remove(containerName(job.id));
    const volume = volumeDir(layout, job.id);
    const failure = await deleteVolume(volume);
    if (failure)
      log.error({ job: job.id, path: volume, err: failure.message }, "Failed to cleanup job volume");
    return this.getStatus(job);
  }

  /**
   * The state and the container it was worked out from (finalize records that same container). `vanished`: the
   * runtime started the container and it is gone, removed by someone else mid-run; the job counts as EXECUTED so
   * it is finalized as failed, never started again from the same volume.
   */
  private async observe(
    job: JobDefinition,
    options: { cancelled?: boolean } = {},
  ): Promise<{ status: JobStatus; container: ContainerState | null; vanished: boolean }> {
    const { runtime, layout } = this.deps;
    const container = await runtime.inspect(containerName(job.id));
    const observed = (
      state: AgentStage,
      timestampNs: number | null,
      results: Record<string, unknown>,
      vanished = false,
    ) => ({ status: { state, timestampNs, results }, container, vanished });
    const metadata = await readTaskMetadata(layout, job);
    if (metadata.error) return observed(AgentStage.Error, numberOrNull(metadata.timestamp_ns), metadata);
    if (Object.keys(metadata).length > 0) {
      return observed(AgentStage.Finalized, numberOrNull(metadata.timestamp_ns), metadata);
    }
    const volume = volumeDir(layout, job.id);
    if (container === null) {
      if (!options.cancelled && (await runtime.wasStarted(containerName(job.id)))) {
        return observed(AgentStage.Executed, nowNanos(), {}, true);
      }
      if (options.cancelled) {
        return (await volumeExists(volume))
          ? observed(AgentStage.Prepared, nowNanos(), metadata)
          : observed(AgentStage.Unknown, nowNanos(), {});
      }
      const timestamp = await readTimestamp(volume);
      return timestamp === null
        ? observed(AgentStage.Unknown, nowNanos(), {})
        : observed(AgentStage.Prepared, timestamp, {});
    }
    return container.running
      ? observed(AgentStage.Executing, container.startedAtNs, {})
      : observed(AgentStage.Executed, container.finishedAtNs, {});
  }

  private async finalizeJob(
    job: JobDefinition,
    container: ContainerState | null,
    cancelled: boolean,
    error: JobError | null,
    vanished: boolean,
  ) {
    const { runtime, layout, metrics } = this.deps;
    const name = containerName(job.id);
    const volume = volumeDir(layout, job.id);
    const success = !cancelled && !error && !vanished;
    const matched = success && (await volumeExists(volume)) ? await this.matchOutputs(job, volume) : null;
    const { outputs, notSaved, level4Excluded, failure } = matched
      ? await this.saveOutputs(job, matched)
      : { outputs: {}, notSaved: [], level4Excluded: {}, failure: null };
    const unmatchedPatterns =
      matched && !failure
        ? matched.patterns.filter(([, files]) => !files.some((file) => file in outputs)).map(([p]) => p)
        : [];
    // Files a pattern matched but that were not saved are in notSaved, not offered as files the patterns missed.
    const matchedFiles = new Set([...Object.keys(outputs), ...notSaved.map(([file]) => file)]);
    const unmatchedOutputs =
      matched && !failure ? matched.newerFiles.filter((file) => !matchedFiles.has(file)) : [];
    // A running container reports 0, as Docker does (a fatal error while executing); one that ended without a
    // known exit code (a local process whose watcher died) is not a success: "None", as without a container.
    const containerExit = container ? (container.running ? 0 : container.exitCode) : null;
    // Outputs that could not be saved are no success either, whatever the exit code: "None" too (the container's
    // code stays in container_metadata), as the controller reads 0 as success whatever the message says.
    const exitCode = failure ? null : containerExit;
    const ending = statusMessage({
      exitCode: containerExit,
      oomKilled: container?.oomKilled ?? false,
      memoryLimitBytes: container?.memoryLimitBytes ?? 0,
      endedBecause: container?.endedBecause ?? null,
      cancelled,
      errored: error !== null,
      vanished,
      outputCount: Object.keys(outputs).length,
      unmatchedPatterns,
      // Shown escaped: the hint is printed in logs.txt, one name a line.
      unmatchedOutputs: unmatchedOutputs.map(shownName),
    });
    const { message, hint } = failure ? { message: failure, hint: null } : ending;
    const now = nowNanos();
    const metadata: JobMetadata = {
      outputs,
      unmatched_patterns: unmatchedPatterns,
      unmatched_outputs: unmatchedOutputs,
      status_message: message,
      hint,
      timestamp_ns: now,
      job_definition_id: job.id,
      job_definition_rap_id: job.rap_id,
      task_id: job.task_id,
      created_at: job.created_at,
      user: job.user,
      completed_at: Math.trunc(now / 1e9),
      docker_image_id: container?.imageId ?? null,
      expected_image_id: job.image_sha,
      exit_code: exitCode === null ? "None" : String(exitCode),
      oom_killed: container?.oomKilled ?? false,
      container_metadata: container ? redactContainerMetadata(container.metadata) : {},
      commit: job.study?.commit ?? null,
      database_name: job.database_name,
      ...(await this.imageLabels(container)),
      level4_excluded_files: level4Excluded,
      cancelled,
      error,
      job_metrics: await metrics.read(job.id),
    };
    const logDir = jobLogDir(layout, job);
    if (container) {
      const logsPath = join(logDir, "logs.txt");
      await writeFileAtomic(logsPath, (await runtime.logs(name)) + jobSummary(metadata, notSaved));
      if (success && !failure) {
        const highLog = actionLogPath(layout, "high", job);
        await copyFileAtomic(logsPath, highLog);
        await copyFileAtomic(highLog, actionLogPath(layout, "medium", job));
      }
    }
    await writeJobMetadata(layout, job, metadata);
  }

  /** The volume's outputs by the job's output spec, and the files the job wrote that no pattern matched. */
  private async matchOutputs(job: JobDefinition, volume: string) {
    const listing = await listVolume(volume);
    return { ...matchOutputs(job.output_spec, listing), newerFiles: newerFiles(listing) };
  }

  /**
   * Saves the matched outputs to the workspaces. Answers the outputs saved, the matched files not saved (with
   * why), the level 4 exclusions, and `failure`, the status message when none could be saved: over
   * MAX_JOB_OUTPUT_BYTES, or the disk full.
   */
  private async saveOutputs(job: JobDefinition, matched: MatchedOutputs) {
    const { layout, settings } = this.deps;
    const notSaved: NamedRow[] = [...matched.refused];
    const oversize = overLimit(matched.sizes, settings.maxJobOutputBytes);
    if (oversize) {
      return {
        outputs: {},
        notSaved: [...notSaved, ...oversize],
        level4Excluded: {},
        failure: OUTPUTS_TOO_LARGE_MESSAGE,
      };
    }
    try {
      const persisted = await persistOutputs(layout, job, matched.sources, matched.outputs, () =>
        this.currentActions(job),
      );
      const outputs = Object.fromEntries(
        Object.entries(matched.outputs).filter(([file]) => !(file in persisted.notSaved)),
      );
      notSaved.push(...Object.entries(persisted.notSaved));
      return { outputs, notSaved, level4Excluded: persisted.excluded, failure: null };
    } catch (error) {
      if (!(error instanceof WorkspaceDiskFullError)) throw error;
      await this.freeAfterDiskFull(job, error);
      return { outputs: {}, notSaved, level4Excluded: {}, failure: OUTPUTS_DISK_FULL_MESSAGE };
    }
  }

  /**
   * Saving the outputs filled the disk: tells the operator what is full, and frees the job's volume at once so
   * its logs and metadata can be written and later jobs can run (cleanup removes the container, as for any job).
   */
  private async freeAfterDiskFull(job: JobDefinition, error: WorkspaceDiskFullError): Promise<void> {
    const { layout, log } = this.deps;
    const volume = volumeDir(layout, job.id);
    const space = await statfs(dirname(error.path)).catch(() => null);
    const failure = await deleteVolume(volume);
    log.error(
      {
        job: job.id,
        path: error.path,
        free_bytes: space ? space.bavail * space.bsize : null,
        err: describeError(error.cause),
        volume_deleted: failure === null,
      },
      "disk full while saving a job's outputs: the job fails and its volume is deleted",
    );
  }

  private async refuseArchived(workspace: string): Promise<void> {
    const { layout } = this.deps;
    if (await pathExists(workspaceDir(layout, "high", workspace))) return;
    for (const suffix of ARCHIVE_SUFFIXES) {
      if (await pathExists(join(layout.archiveDir, `${safeSegment(workspace, "workspace")}${suffix}`))) {
        throw new ArchivedWorkspaceError(workspace);
      }
    }
  }

  /** The outputs of the jobs this one needs (every privacy level), as checked relative paths. */
  private async inputFiles(job: JobDefinition): Promise<string[]> {
    const files: string[] = [];
    for (const inputJobId of job.input_job_ids) {
      const metadata = await readJobMetadata(this.deps.layout, safeSegment(inputJobId, "input job"));
      const outputs = (metadata.outputs ?? {}) as Record<string, unknown>;
      for (const file of Object.keys(outputs)) files.push(safeRelativePath(file, "input file"));
    }
    return files;
  }

  private async network(job: JobDefinition, databaseUrl: string | undefined): Promise<NetworkSpec> {
    const { settings } = this.deps;
    if (!job.allow_database_access) return { kind: "none" };
    if (settings.usingDummyDataBackend || settings.databaseAccessNetwork === "") return { kind: "default" };
    return {
      kind: "database",
      network: settings.databaseAccessNetwork,
      extraHosts: await pinnedHost(databaseUrl),
    };
  }

  private async imageLabels(container: ContainerState | null): Promise<Record<string, string>> {
    let labels: Record<string, string> = {};
    if (container?.imageId) {
      try {
        labels = await this.deps.runtime.imageLabels(container.imageId);
      } catch (error) {
        this.deps.log.warn({ image: container.imageId, err: String(error) }, "could not read image labels");
      }
    }
    return Object.fromEntries(IMAGE_LABELS.map(([key, label]) => [key, labels[label] ?? "unknown"]));
  }

  /** The actions of the study's project.yaml at the study commit, or null when it cannot be read. */
  private async currentActions(job: JobDefinition): Promise<string[] | null> {
    const study = job.study;
    if (!study?.git_repo_url || !study.commit) return null;
    try {
      const bytes = await readFileFromRepo(study.git_repo_url, study.commit, "project.yaml", this.deps.git);
      return bytes === null ? null : parseProject(bytes).allActions;
    } catch (error) {
      this.deps.log.warn(
        { job: job.id, err: error instanceof Error ? error.message : String(error) },
        "could not read project.yaml to update the manifest",
      );
      return null;
    }
  }
}

function numberOrNull(value: unknown): number | null {
  return typeof value === "number" ? value : null;
}
