import type { Logger } from "pino";
import type { Config } from "../config/index.js";
import type { Storage } from "../db/storage.js";
import type { Clock } from "../domain/clock.js";
import { createImageDigests } from "../registry/index.js";
import { statusLog } from "../scheduler/log-observer.js";
import { Scheduler } from "../scheduler/scheduler.js";
import { jobSpans } from "../telemetry/job-spans.js";
import { LoopSpans } from "../telemetry/loop-spans.js";
import type { ControllerMetrics } from "../telemetry/metrics.js";
import type { Tracing } from "../telemetry/tracing.js";

/** What a scheduler counts: its passes, the jobs it starts and finishes, its image digest look-ups. */
export type SchedulerMetrics = Pick<
  ControllerMetrics,
  "passFinished" | "passFailed" | "jobObserver" | "jobStatusChanged" | "imageDigest"
>;

export interface SchedulerExtras {
  metrics?: SchedulerMetrics;
  /** The name its passes take the lease under (default: this process). */
  holder?: string;
}

/** The scheduler with its image digests, status log and, when on, job and loop spans and metrics. */
export function createScheduler(
  config: Config,
  storage: Storage,
  clock: Clock,
  log: Logger,
  tracing: Tracing | undefined,
  { metrics, holder }: SchedulerExtras = {},
): Scheduler {
  const { scheduler: settings } = config;
  const digests = createImageDigests({
    registry: settings.dockerRegistry,
    enabled: settings.resolveImageDigests,
    timeoutMs: settings.imageDigestTimeoutMs,
    ttlMs: settings.imageDigestTtlMs,
    log,
    ...(metrics ? { onLookup: (result: "hit" | "miss") => metrics.imageDigest(result) } : {}),
  });
  return new Scheduler({
    storage,
    config,
    clock,
    digests,
    log,
    observers: [
      statusLog(log),
      ...(tracing ? [jobSpans(tracing.tracer("jobs"), tracing.ids)] : []),
      ...(metrics ? [metrics.jobObserver] : []),
    ],
    ...(metrics ? { metrics } : {}),
    ...(holder ? { holder } : {}),
    ...(tracing
      ? {
          loopSpans: new LoopSpans(
            tracing.tracer("loop"),
            tracing.tracer("ticks"),
            settings.tickPollIntervalMs,
          ),
        }
      : {}),
  });
}
