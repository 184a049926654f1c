/**
 * The scheduler's worker thread (./scheduler-thread.ts): its own storage and tracing, opened from the controller's
 * Config, and the same Scheduler the controller would run in-process, answering the handle's calls. Its log lines
 * and metrics go to the controller's thread; an error it cannot handle ends the thread, which the handle reports
 * and replaces.
 */
import { parentPort, workerData } from "node:worker_threads";
import { openStorage } from "../db/open.js";
import { systemClock } from "../domain/clock.js";
import { startTracing } from "../telemetry/tracing.js";
import { threadLogger } from "./log-relay.js";
import { createScheduler, type SchedulerMetrics } from "./scheduler.js";
import type { MetricEvent, SchedulerThreadData, ThreadMessage, ThreadRequest } from "./scheduler-thread.js";

const port = parentPort!;
const { config, holder, logLevel, metrics, writeGate } = workerData as SchedulerThreadData;
const send = (message: ThreadMessage) => port.postMessage(message);
const log = threadLogger(logLevel, (line) => send({ kind: "log", line }));

/** The thread's metrics: each count sent to the controller's registry. */
function forwardedMetrics(): SchedulerMetrics {
  const count = (event: MetricEvent) => send({ kind: "metric", event });
  return {
    passFinished: (seconds, jobErrors) => count({ name: "passFinished", seconds, jobErrors }),
    passFailed: () => count({ name: "passFailed" }),
    jobStatusChanged: (backend, statusCode) => count({ name: "jobStatus", backend, statusCode }),
    jobObserver: {
      statusChanged: (job) => count({ name: "jobStatus", backend: job.backend, statusCode: job.statusCode }),
    },
    imageDigest: (result) => count({ name: "imageDigest", result }),
  };
}

// The controller has migrated the database; the passes run on a connection (or pool) of their own, whose writes
// take turns with the controller thread's.
const storage = await openStorage(config.database, writeGate ? { writeGate } : {});
const tracing = startTracing(config.telemetry, "controller", (error) =>
  log.warn({ err: error }, "could not send spans"),
);
const scheduler = createScheduler(config, storage, systemClock, log, tracing, {
  holder,
  ...(metrics ? { metrics: forwardedMetrics() } : {}),
});

/** Stops the loop (the pass in progress finishes, the lease is released), then what the thread opened. */
async function stop(): Promise<void> {
  await scheduler.stop();
  await tracing
    ?.shutdown()
    .catch((error: unknown) => log.warn({ err: error }, "could not send the last spans"));
  await storage.close();
}

async function answer(request: ThreadRequest & { id: number }): Promise<void> {
  try {
    const report =
      request.kind === "tick"
        ? await scheduler.tick()
        : request.kind === "releaseLease"
          ? await scheduler.releaseLease()
          : await stop();
    send({ kind: "done", id: request.id, ...(report ? { report } : {}) });
  } catch (error) {
    const { name, message, stack } = error instanceof Error ? error : new Error(String(error));
    send({ kind: "failed", id: request.id, error: { name, message, ...(stack ? { stack } : {}) } });
  }
}

port.on("message", (request: ThreadRequest) => {
  if (request.kind === "start") scheduler.start();
  else if (request.kind === "wake") scheduler.wake();
  else void answer(request);
});
