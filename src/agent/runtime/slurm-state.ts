/**
 * Readings of what Slurm and the batch script report, as pure functions: `squeue`, `scontrol show job` and `sacct`
 * records, the usage samples the script writes, and the job's state worked out from both. What the script recorded
 * (the container's inspect document) is the truth about how the container ended; Slurm's word is needed while the
 * job is queued or running, and for endings the script could not record (a failed node, a job Slurm never started).
 */
import { containerState, type InspectDocument } from "./docker-api.js";
import type { ContainerState } from "./types.js";

/** One job as `scontrol show job --oneliner` prints it: `Key=Value` fields. */
export type SlurmJob = Readonly<Record<string, string>>;

/** Slurm states in which the job is still Slurm's to run (queued, starting, running, or finishing). */
const LIVE_STATES = new Set([
  "PENDING",
  "CONFIGURING",
  "RUNNING",
  "COMPLETING",
  "SUSPENDED",
  "REQUEUED",
  "REQUEUE_FED",
  "REQUEUE_HOLD",
  "RESIZING",
  "SIGNALING",
  "STAGE_OUT",
  "RESV_DEL_HOLD",
]);

/** The states `squeue --states` is asked for when looking a live job up by name. */
export const LIVE_STATE_LIST = [...LIVE_STATES].join(",");

/** The jobs of `scontrol show job --oneliner` output, one a line. */
export function parseScontrolJobs(text: string): SlurmJob[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith("JobId="))
    .map((line) => {
      const fields: Record<string, string> = {};
      // A value runs to the next ` Key=`; values hold no such pattern in practice (Command= is a path).
      for (const match of line.matchAll(
        /(?:^|\s)([A-Za-z][A-Za-z0-9/:_]*)=(.*?)(?=\s+[A-Za-z][A-Za-z0-9/:_]*=|\s*$)/g,
      )) {
        fields[match[1]!] = match[2]!;
      }
      return fields;
    });
}

export function isLive(job: SlurmJob): boolean {
  return LIVE_STATES.has(baseState(job));
}

/** `CANCELLED by 0` → `CANCELLED`. */
export function baseState(job: SlurmJob): string {
  return (job.JobState ?? "").split(/[\s+]/)[0] ?? "";
}

/** `squeue --Format` fields, named as `scontrol show job` names them (so one record shape serves both). */
const SQUEUE_FIELDS: ReadonlyArray<[string, string]> = [
  ["JobID", "JobId"],
  ["Name", "JobName"],
  ["State", "JobState"],
  ["Reason", "Reason"],
  ["SubmitTime", "SubmitTime"],
  ["StartTime", "StartTime"],
  ["EndTime", "EndTime"],
  ["TimeUsed", "RunTime"],
  ["TimeLimit", "TimeLimit"],
  ["NodeList", "NodeList"],
  ["exit_code", "ExitCode"],
];

/** The `--Format` argument that makes squeue print SQUEUE_FIELDS separated by `|`. */
export const SQUEUE_FORMAT = SQUEUE_FIELDS.map(([field]) => `${field}:|`).join(",");

/** The jobs of `squeue --noheader --Format=SQUEUE_FORMAT` output, one a line. */
export function parseSqueueJobs(text: string): SlurmJob[] {
  return parseFieldLines(text, SQUEUE_FIELDS);
}

/** `sacct --format` fields (the job's allocation, as accounting kept it), named as `scontrol show job` names them. */
const SACCT_FIELDS: ReadonlyArray<[string, string]> = [
  ["JobID", "JobId"],
  ["JobName", "JobName"],
  ["State", "JobState"],
  ["Reason", "Reason"],
  ["Submit", "SubmitTime"],
  ["Start", "StartTime"],
  ["End", "EndTime"],
  ["Elapsed", "RunTime"],
  ["Timelimit", "TimeLimit"],
  ["NodeList", "NodeList"],
  ["ExitCode", "ExitCode"],
];

/** The `--format` argument for SACCT_FIELDS, printed by `sacct --parsable2` separated by `|`. */
export const SACCT_FORMAT = SACCT_FIELDS.map(([field]) => field).join(",");

/** The jobs of `sacct --noheader --parsable2 --allocations --format=SACCT_FORMAT` output, one a line. */
export function parseSacctJobs(text: string): SlurmJob[] {
  return parseFieldLines(text, SACCT_FIELDS);
}

/** Lines of `|`-separated values in the order of `fields`, whose first is a job id. */
function parseFieldLines(text: string, fields: ReadonlyArray<[string, string]>): SlurmJob[] {
  return text.split("\n").flatMap((line) => {
    const values = line.split("|");
    if (values.length < fields.length || !/^\d+$/.test(values[0]!.trim())) return [];
    return [Object.fromEntries(fields.map(([, key], i) => [key, values[i]!.trim()]))];
  });
}

/** Unix ns of a Slurm time (`2026-12-06T21:31:03`, the controller's local time); null for `Unknown`, `None` … */
export function slurmTimeNs(text: string | undefined): number | null {
  if (!text || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(text)) return null;
  const ms = new Date(text).getTime();
  return Number.isFinite(ms) ? ms * 1e6 : null;
}

/** What the batch script left in the job's directory. */
export interface Recorded {
  /** The container's inspect document: the job ran and its end was recorded. */
  inspect: InspectDocument | null;
  /** Why the container could not be created (a missing image …). */
  failed: string | null;
}

const KILLED = 137;

/**
 * The job's state from what was recorded and what Slurm says (null when Slurm no longer knows the job, or was not
 * asked because the record says it all). Null when there is nothing to go on: no record and no job.
 */
export function slurmJobState(recorded: Recorded, job: SlurmJob | null): ContainerState | null {
  const slurm = job ? { Slurm: job } : {};
  if (recorded.inspect) {
    const state = containerState(recorded.inspect);
    const because = job && state.exitCode === KILLED ? killedBecause(job) : undefined;
    return {
      ...state,
      metadata: { ...state.metadata, ...slurm },
      ...(because ? { endedBecause: because } : {}),
    };
  }
  if (recorded.failed !== null) return ended(null, recorded.failed, job);
  if (job === null) return null;
  if (isLive(job)) {
    const running = baseState(job) !== "PENDING";
    return {
      running: true,
      exitCode: null,
      oomKilled: false,
      // Queued counts as started: the job has been handed over, and its start is when it was. Slurm's times are
      // whole seconds, so this can fall before the agent's `prepared` stamp: a stage moving forward is applied
      // whatever its time (staleUpdate in src/domain/task.ts).
      startedAtNs: slurmTimeNs(running ? job.StartTime : job.SubmitTime),
      finishedAtNs: null,
      imageId: null,
      memoryLimitBytes: 0,
      metadata: { State: { Status: running ? "running" : "queued" }, ...slurm },
    };
  }
  return endedUnrecorded(job);
}

/** A job that left Slurm without the script recording its end: how it ended, from Slurm's state. */
function endedUnrecorded(job: SlurmJob): ContainerState {
  const state = baseState(job);
  // No node: scontrol says `(null)`, sacct `None assigned`.
  const node = job.NodeList && !/^\(null\)$|^None assigned$/.test(job.NodeList) ? job.NodeList : null;
  const neverStarted = slurmTimeNs(job.StartTime) === null || /^[0:-]*$/.test(job.RunTime ?? "");
  switch (state) {
    case "CANCELLED":
      // Killed before the script could record it, or never started: as `kill` leaves a job, exit 137.
      return ended(KILLED, undefined, job);
    case "TIMEOUT":
    case "DEADLINE":
    case "PREEMPTED":
      return ended(KILLED, killedBecause(job), job);
    case "OUT_OF_MEMORY":
      return { ...ended(KILLED, undefined, job), oomKilled: true };
    case "NODE_FAIL":
      return ended(
        null,
        `The cluster node running this job${node ? ` (${node})` : ""} failed, so the job did not finish: run it again`,
        job,
      );
    case "BOOT_FAIL":
      return ended(
        null,
        "The cluster could not start the node this job was given, so the job never ran: run it again",
        job,
      );
    default:
      return ended(
        null,
        neverStarted
          ? `The cluster ended this job (Slurm state ${state || "unknown"}) before it started: run it again, and ` +
              "tell the backend's operators if this repeats"
          : `The job's batch script failed on ${node ?? "its node"} (Slurm state ${state || "unknown"}, exit ` +
              `${job.ExitCode ?? "unknown"}) before the job's end was recorded: tell the backend's operators`,
        job,
      );
  }
}

/** Why Slurm killed a job, when it was not a cancel. */
function killedBecause(job: SlurmJob): string | undefined {
  switch (baseState(job)) {
    case "TIMEOUT":
      return `Job exceeded the cluster's time limit of ${job.TimeLimit ?? "its partition"} and was stopped (SLURM_TIME_LIMIT)`;
    case "DEADLINE":
      return "Job was stopped at its Slurm deadline";
    case "PREEMPTED":
      return "Job was stopped by the cluster to make room for another (preempted): run it again";
    case "NODE_FAIL":
      return "The cluster node running this job failed, so the job did not finish: run it again";
    default:
      return undefined;
  }
}

function ended(exitCode: number | null, because: string | undefined, job: SlurmJob | null): ContainerState {
  const endedAt = slurmTimeNs(job?.EndTime);
  return {
    running: false,
    exitCode,
    oomKilled: false,
    startedAtNs: slurmTimeNs(job?.StartTime) ?? endedAt,
    finishedAtNs: endedAt,
    imageId: null,
    memoryLimitBytes: 0,
    metadata: { State: { Status: "exited" }, ...(job ? { Slurm: job } : {}) },
    ...(because ? { endedBecause: because } : {}),
  };
}

/** Bytes in a `docker stats` size (`64.5MiB`, `1.2GB`, `512kB`, `0B`); 0 when unreadable. */
function sizeBytes(text: string): number {
  const match = /^([\d.]+)\s*([KMGTP]?)(i?)B$/i.exec(text.trim());
  if (!match) return 0;
  const power = " KMGTP".indexOf(match[2]!.toUpperCase() || " ");
  const base = match[3] ? 1024 : 1000;
  return Math.round(Number(match[1]) * base ** power);
}

/** A usage sample the script wrote (`12.34% 64.5MiB / 23.5GiB`): CPU (100 = one core) and memory; null if unreadable. */
export function parseUsage(text: string): { cpuPercent: number; memoryBytes: number } | null {
  const match = /^([\d.]+)%\s+(\S+)\s*\//.exec(text.trim());
  if (!match) return null;
  const cpuPercent = Number(match[1]);
  return Number.isFinite(cpuPercent) ? { cpuPercent, memoryBytes: sizeBytes(match[2]!) } : null;
}
