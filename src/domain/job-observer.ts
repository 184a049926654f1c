import type { Job } from "./job.js";
import type { Transition } from "./transition.js";

/**
 * Told of every status change the scheduler makes once it has committed, never of one that rolled back (the status
 * log, job spans).
 */
export interface JobObserver {
  statusChanged(
    job: Job,
    change: Extract<Transition, { kind: "changed" }>,
    results?: Record<string, unknown>,
  ): void;
}
