import type { Logger } from "pino";
import type { JobObserver } from "../domain/job-observer.js";

/** One log line per job status change, with what an operator needs to find the job. */
export function statusLog(log: Logger): JobObserver {
  return {
    statusChanged(job, change) {
      log.info(
        {
          job: job.id,
          rap: job.rapId,
          backend: job.backend,
          workspace: job.workspace,
          action: job.action,
          from: change.from,
          to: job.statusCode,
        },
        job.statusMessage ?? "",
      );
    },
  };
}
