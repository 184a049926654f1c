/**
 * The composition root of the controller: builds every service from the Config, in order (database and storage,
 * status reader, tracing, scheduler with its image digests, HTTP app with the create pipeline), and releases them in
 * reverse order. Nothing below src/app builds a service itself.
 */
import { availableParallelism } from "node:os";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { Config } from "../config/index.js";
import { newWriteGate, openStorage } from "../db/open.js";
import type { Storage } from "../db/storage.js";
import { type Clock, systemClock } from "../domain/clock.js";
import { closeBlobReaders } from "../git/index.js";
import { buildApp } from "../http/app.js";
import { controllerReposDir, jobCreator } from "../jobs/index.js";
import { JobLogBuffer, storedJobOutput } from "../ops/job-log-buffer.js";
import type { JobOutput } from "../ops/logs.js";
import { dbStatusRule } from "../scheduler/db-status.js";
import { processHolder } from "../scheduler/lease.js";
import { readFlags } from "../scheduler/pass-context.js";
import type { SchedulerHandle } from "../scheduler/scheduler.js";
import { ControllerMetrics } from "../telemetry/metrics.js";
import { startTracing, type Tracing } from "../telemetry/tracing.js";
import { createLogger } from "./logger.js";
import { Releasers } from "./releasers.js";
import { createScheduler } from "./scheduler.js";
import { SchedulerThread } from "./scheduler-thread.js";

const MAX_STATUS_WORKERS = 4;

export interface ControllerOptions {
  clock?: Clock;
  log?: Logger;
  /** Worker threads for large rap/status answers (default: one per core, at most four; 0 for none). */
  statusWorkers?: number;
  /** Jobs' output for the live-log stream, where this process can read it (`rap serve`: its agents' runtime). */
  jobOutput?: JobOutput;
  /**
   * Run the scheduler on a worker thread of its own, off the HTTP server's (./scheduler-thread.ts). Default: yes on
   * the system clock with a database a thread can open too; a test's own clock cannot cross into a thread, so with
   * one the scheduler runs on this thread.
   */
  schedulerThread?: boolean;
}

export type ControllerState = "open" | "closing" | "closed";

export interface Controller {
  readonly config: Config;
  readonly storage: Storage;
  readonly scheduler: SchedulerHandle;
  readonly app: FastifyInstance;
  readonly log: Logger;
  readonly state: ControllerState;
  /** Closes the HTTP app, the scheduler (letting its pass finish), tracing, the status workers, the database. */
  close(): Promise<void>;
}

/**
 * The metrics, when an operator may read them (OPERATOR_TOKENS set); otherwise none are kept, at no cost. The
 * gauges read the database at scrape time: active jobs from the partial index, agents' last-seen from the flags.
 */
function controllerMetrics(config: Config, storage: Storage, clock: Clock): ControllerMetrics | undefined {
  if (config.operatorTokens.length === 0) return undefined;
  return new ControllerMetrics(
    {
      activeJobCounts: () => storage.jobs.activeCounts(),
      agentLastSeen: async () => {
        const flags = await readFlags(storage);
        return new Map(config.backends.map((b) => [b, flags.get(b)?.agentLastSeenAt ?? null]));
      },
    },
    () => clock.nowMs() / 1000,
  );
}

/**
 * The scheduler, on a thread of its own unless told otherwise, given a clock of the caller's, or on an in-memory
 * SQLite database (neither can be shared with another thread).
 */
function schedulerFor(
  config: Config,
  storage: Storage,
  clock: Clock,
  log: Logger,
  tracing: Tracing | undefined,
  metrics: ControllerMetrics | undefined,
  writeGate: SharedArrayBuffer | undefined,
  inThread?: boolean,
): SchedulerHandle {
  const holder = processHolder();
  const inMemory = config.database.dialect === "sqlite" && config.database.path === ":memory:";
  const shareable = clock === systemClock && !inMemory;
  if (inThread && !shareable)
    throw new Error(
      "a scheduler on a thread of its own needs the system clock and a database on disk or a server",
    );
  if (!(inThread ?? shareable))
    return createScheduler(config, storage, clock, log, tracing, { holder, ...(metrics ? { metrics } : {}) });
  return new SchedulerThread({
    config,
    holder,
    log,
    ...(metrics ? { metrics } : {}),
    ...(writeGate ? { writeGate } : {}),
  });
}

export async function openController(config: Config, options: ControllerOptions = {}): Promise<Controller> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? createLogger(config.logLevel);
  const releasers = new Releasers();
  try {
    const statusWorkers = options.statusWorkers ?? Math.min(MAX_STATUS_WORKERS, availableParallelism());
    // SQLite: the scheduler's thread and this one take turns at the write lock, neither blocking while it waits.
    const writeGate = config.database.dialect === "sqlite" ? newWriteGate() : undefined;
    const storage = await openStorage(config.database, {
      migrate: true,
      statusWorkers,
      backgroundCheckpoints: true,
      ...(writeGate && { writeGate }),
    });
    releasers.add("database", () => storage.close());

    const tracing = startTracing(config.telemetry, "controller", (error) =>
      log.warn({ err: error }, "could not send spans"),
    );
    if (tracing)
      releasers.add("tracing", () =>
        tracing
          .shutdown()
          .catch((error: unknown) => log.warn({ err: error }, "could not send the last spans")),
      );

    const metrics = controllerMetrics(config, storage, clock);
    const scheduler = schedulerFor(
      config,
      storage,
      clock,
      log,
      tracing,
      metrics,
      writeGate,
      options.schedulerThread,
    );
    releasers.add("scheduler", () => scheduler.stop());

    // Creates read project.yaml through long-lived git processes in the cache: ended once the app is closed.
    releasers.add("git readers", () => closeBlobReaders(controllerReposDir(config)));

    // Agents' batches of jobs' output, kept only when the operator allows them here (DESIGN DECISIONS 14).
    const jobLogs = config.liveLogs.toController ? new JobLogBuffer(config.liveLogs) : undefined;
    const app = await buildApp({
      config,
      storage,
      statusReader: storage.status,
      createJobs: jobCreator(
        storage,
        config,
        clock,
        undefined,
        metrics && ((seconds, ok) => metrics.gitFetched(seconds, ok)),
      ),
      dbStatusReported: dbStatusRule(clock),
      schedulerHolder: scheduler.holder,
      wakeScheduler: () => scheduler.wake(),
      clock,
      log,
      tracer: tracing?.tracer("http"),
      ...(metrics ? { metrics } : {}),
      jobOutput: options.jobOutput ?? (jobLogs && storedJobOutput(jobLogs, storage.jobs)),
      jobLogs,
    });
    releasers.add("http", () => app.close());

    let state: ControllerState = "open";
    return {
      config,
      storage,
      scheduler,
      app,
      log,
      get state() {
        return state;
      },
      async close() {
        if (state !== "open") return;
        state = "closing";
        await releasers.releaseAll((name, error) =>
          log.error({ err: error }, `error while closing the ${name}`),
        );
        state = "closed";
      },
    };
  } catch (error) {
    await releasers.releaseAll((name, again) => log.error({ err: again }, `error while closing the ${name}`));
    throw error;
  }
}
