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

/**
 * Prints (through `print`) each status change of the job until it finishes, then answers as readJobLog. The
 * status is read every `intervalMs`.
 */
export async function followJobLog(
  jobs: JobStore,
  jobId: string,
  logPath: JobLogPath,
  print: (line: string) => void,
  intervalMs: number,
): Promise<JobLog> {
  let shown = "";
  for (;;) {
    const job = await jobs.get(jobId);
    if (!job) return { kind: "no-job" };
    if (!isActiveState(job.state)) return readJobLog(jobs, jobId, logPath);
    const line = statusLine(job);
    if (line !== shown) print(line);
    shown = line;
    await sleep(intervalMs);
  }
}
