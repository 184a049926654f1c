import type { Logger } from "pino";
import type { Job } from "../domain/job.js";

/**
 * The log for lines about one job: each carries the job's id, action, workspace and backend, so an operator finds
 * every line about a job, or a workspace, with one filter. Made only when a line is written (a pass handles
 * thousands of jobs and logs about few).
 */
export function jobLog(log: Logger, job: Job): Logger {
  return log.child({ job: job.id, action: job.action, workspace: job.workspace, backend: job.backend });
}
