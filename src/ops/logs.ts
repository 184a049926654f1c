/**
 * `rap logs JOB_ID [-f]`. The controller holds no job logs: a job's `logs.txt` (its container's output and the JOB
 * SUMMARY) is written by its agent when the job finishes, under HIGH_PRIVACY_STORAGE_BASE on the backend's own
 * machine, and never leaves it (DESIGN DECISIONS 14). So this reads that file when run on the backend's machine
 * (`rap serve` runs both on one), and otherwise says why there is nothing to show. Following a running job prints
 * its status changes as the controller sees them, then the log once the job has finished: the container's output
 * is not in the file before then.
 */
import { readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import type { JobStore } from "../db/storage.js";
import type { Job } from "../domain/job.js";
import { isActiveState } from "../domain/status.js";
import { shownTime } from "./jobs.js";

/** Where the agent writes a job's log (src/agent/workspace/paths.ts `jobLogDir`, then `logs.txt`). */
export type JobLogPath = (job: Pick<Job, "id" | "createdAt">) => string;

export type JobLog =
  | { readonly kind: "no-job" }
  | { readonly kind: "found"; readonly job: Job; readonly text: string }
  /** Its output was printed as it was written (`-f` on the job's machine). */
  | { readonly kind: "followed"; readonly job: Job }
  | { readonly kind: "missing"; readonly job: Job; readonly path: string };

async function readIfThere(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

export async function readJobLog(jobs: JobStore, jobId: string, logPath: JobLogPath): Promise<JobLog> {
  const job = await jobs.get(jobId);
  if (!job) return { kind: "no-job" };
  const path = logPath(job);
  const text = await readIfThere(path);
  return text === undefined ? { kind: "missing", job, path } : { kind: "found", job, text };
}

/** Why a job has no log here, in words for the operator. */
export function missingLogMessage(job: Job, path: string): string {
  if (isActiveState(job.state)) {
    return (
      `Job ${job.id} has not finished (${job.statusCode}${job.statusMessage ? `: ${job.statusMessage}` : ""}): ` +
      `its agent writes the log when it finishes, to ${path} on backend '${job.backend}'. ` +
      "Use -f to follow the job until then."
    );
  }
  return (
    `No log for job ${job.id} at ${path}: a job's log stays on its backend's machine ('${job.backend}'), so run ` +
    "this there with the agent's WORKDIR or HIGH_PRIVACY_STORAGE_BASE; a job that failed before its container " +
    "started has none."
  );
}

/** One line for a job's status as it changes: time, state, code and message. */
export function statusLine(job: Job): string {
  const message = job.statusMessage ? `: ${job.statusMessage}` : "";
  return `${shownTime(job.updatedAt)} ${job.state} ${job.statusCode}${message}`;
}

/** A job's output as it is written, line by line (no newlines); ends once the job's container has ended. */
export type JobOutput = (job: Job, signal: AbortSignal) => AsyncIterable<string>;

export interface FollowListener {
  /** The job as first read, and again whenever its status line changes (its finished state last). */
  status(job: Job): void;
  line(line: string): void;
}

export interface Followed {
  /** The job as it finished (or as it was when the signal aborted); undefined when there is no such job. */
  readonly job: Job | undefined;
  /** Whether any of its output was given. */
  readonly streamed: boolean;
}

/**
 * Follows a job until it finishes or the signal aborts: its status changes (read every `intervalMs`) and, once it
 * runs, its output from `output`. The output is read until it gives something: a second read would give it from its
 * first line again, and before the container starts there is nothing to read.
 */
export async function followJob(
  jobs: JobStore,
  jobId: string,
  output: JobOutput | null,
  listener: FollowListener,
  options: { intervalMs: number; signal?: AbortSignal },
): Promise<Followed> {
  const signal = options.signal ?? new AbortController().signal;
  let shown = "";
  let streamed = false;
  for (;;) {
    const job = await jobs.get(jobId);
    if (!job) return { job, streamed };
    const line = statusLine(job);
    if (line !== shown) listener.status(job);
    shown = line;
    const running = job.state === "running" || !isActiveState(job.state);
    if (output && !streamed && running) {
      for await (const text of output(job, signal)) {
        listener.line(text);
        streamed = true;
      }
      // It ended with the container: read the final status at once.
      if (streamed && isActiveState(job.state)) continue;
    }
    if (!isActiveState(job.state) || signal.aborted) return { job, streamed };
    await sleep(options.intervalMs, undefined, { signal }).catch(() => undefined);
  }
}

/**
 * `rap logs -f`: prints (through `print`) each status change of the job and, where `output` can read it, its output
 * as it is written, until the job finishes; then answers as readJobLog when no output was shown (the log file is
 * all there is), or with the finished job.
 */
export async function followJobLog(
  jobs: JobStore,
  jobId: string,
  logPath: JobLogPath,
  print: (line: string) => void,
  intervalMs: number,
  output: JobOutput | null = null,
): Promise<JobLog> {
  const followed = await followJob(
    jobs,
    jobId,
    output,
    { status: (job) => print(statusLine(job)), line: print },
    { intervalMs },
  );
  if (!followed.job) return { kind: "no-job" };
  if (followed.streamed) return { kind: "followed", job: followed.job };
  return readJobLog(jobs, jobId, logPath);
}
