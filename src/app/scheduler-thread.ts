/**
 * The scheduler on a worker thread of its own (issue 18): a pass over thousands of active jobs takes hundreds of
 * milliseconds of JavaScript, which on the HTTP server's thread would hold up every request for as long. The
 * thread (./scheduler-worker.ts) opens its own storage from the same Config and runs the same Scheduler with the
 * same lease, under this process's holder name; this handle forwards the calls (start, wake, tick, releaseLease,
 * stop) and brings back what the thread reports: its log lines (written by the controller's logger), its metrics
 * (counted in the controller's one registry) and each call's answer. Its spans it sends itself (tracing is started
 * in the thread from the same settings).
 *
 * A thread that ends without being asked (an uncaught error, running out of memory) is logged with its error and
 * replaced after RESTART_DELAY_MS; the loop resumes in the new thread, which takes the lease back (same holder).
 * `stop` lets the pass in progress finish, releases the lease, closes the thread's storage and tracing, then ends it.
 */
import type { Worker } from "node:worker_threads";
import type { Logger } from "pino";
import type { Config } from "../config/index.js";
import type { StatusCode } from "../domain/status.js";
import type { PassReport, SchedulerHandle } from "../scheduler/scheduler.js";
import { startWorker } from "../threads/start.js";
import { relayLogLine } from "./log-relay.js";
import type { SchedulerMetrics } from "./scheduler.js";

/** The pause before a thread that ended unexpectedly is replaced (so a thread that cannot start does not spin). */
export const RESTART_DELAY_MS = 1000;

/** What the thread is started with (workerData): structured-cloneable. */
export interface SchedulerThreadData {
  config: Config;
  holder: string;
  /** The controller logger's level: the thread sends only the lines it would write. */
  logLevel: string;
  /** Whether the controller keeps metrics (the thread then sends what it counts). */
  metrics: boolean;
  /** SQLite: the write gate the controller's threads share (src/db/open.ts `newWriteGate`). */
  writeGate?: SharedArrayBuffer;
}

export type ThreadRequest =
  | { kind: "start" }
  | { kind: "wake" }
  | { kind: "tick"; id: number }
  | { kind: "releaseLease"; id: number }
  | { kind: "stop"; id: number };

/** What a scheduler counts, as the thread sends it (SchedulerMetrics' calls). */
export type MetricEvent =
  | { name: "passFinished"; seconds: number; jobErrors: number }
  | { name: "passFailed" }
  | { name: "jobStatus"; backend: string; statusCode: StatusCode }
  | { name: "imageDigest"; result: "hit" | "miss" };

export type ThreadMessage =
  | { kind: "log"; line: string }
  | { kind: "metric"; event: MetricEvent }
  | { kind: "done"; id: number; report?: PassReport }
  | { kind: "failed"; id: number; error: { name: string; message: string; stack?: string } };

/** Counts, in the controller's registry, what the thread's scheduler counted. */
function countIn(metrics: SchedulerMetrics, event: MetricEvent): void {
  switch (event.name) {
    case "passFinished":
      metrics.passFinished(event.seconds, event.jobErrors);
      break;
    case "passFailed":
      metrics.passFailed();
      break;
    case "jobStatus":
      metrics.jobStatusChanged(event.backend, event.statusCode);
      break;
    case "imageDigest":
      metrics.imageDigest(event.result);
      break;
  }
}

interface Pending {
  resolve(report: PassReport | undefined): void;
  reject(error: Error): void;
}

/** One running thread and the calls it has not answered yet. */
class RunningThread {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  /** Why it ended: the error it threw, or its exit code. */
  private failure: Error | undefined;

  constructor(
    readonly worker: Worker,
    onMessage: (message: ThreadMessage) => void,
    onExit: (thread: RunningThread, error: Error) => void,
  ) {
    worker.on("message", (message: ThreadMessage) => {
      if (message.kind === "done") this.settle(message.id)?.resolve(message.report);
      else if (message.kind === "failed")
        this.settle(message.id)?.reject(Object.assign(new Error(message.error.message), message.error));
      else onMessage(message);
    });
    worker.on("error", (error) => {
      this.failure = error;
    });
    worker.on("exit", (code) => {
      const error = this.failure ?? new Error(`the scheduler thread exited with code ${code}`);
      for (const pending of this.pending.values()) pending.reject(error);
      this.pending.clear();
      onExit(this, error);
    });
  }

  private settle(id: number): Pending | undefined {
    const pending = this.pending.get(id);
    this.pending.delete(id);
    return pending;
  }

  send(request: { kind: "start" } | { kind: "wake" }): void {
    this.worker.postMessage(request satisfies ThreadRequest);
  }

  call(kind: "tick" | "releaseLease" | "stop"): Promise<PassReport | undefined> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ kind, id } satisfies ThreadRequest);
    });
  }
}

export interface SchedulerThreadOptions {
  config: Config;
  holder: string;
  log: Logger;
  metrics?: SchedulerMetrics;
  /** SQLite: the write gate of the controller's own storage, for the thread's. */
  writeGate?: SharedArrayBuffer;
  /** Starts the thread (tests wrap it to end a thread behind the handle's back). */
  startThread?: (data: SchedulerThreadData) => Worker;
}

export const startSchedulerWorker = (data: SchedulerThreadData): Worker =>
  startWorker(import.meta.url, "scheduler-worker", { workerData: data });

export class SchedulerThread implements SchedulerHandle {
  private thread: RunningThread | undefined;
  private looping = false;
  private stopping = false;
  private restart: NodeJS.Timeout | undefined;

  constructor(private readonly options: SchedulerThreadOptions) {}

  get holder(): string {
    return this.options.holder;
  }

  start(): void {
    if (this.looping || this.stopping) throw new Error("the scheduler cannot start twice, or once stopped");
    this.looping = true;
    this.running().send({ kind: "start" });
  }

  wake(): void {
    if (this.looping && !this.stopping) this.thread?.send({ kind: "wake" });
  }

  async tick(): Promise<PassReport> {
    return (await this.running().call("tick"))!;
  }

  async releaseLease(): Promise<void> {
    await this.thread?.call("releaseLease");
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearTimeout(this.restart);
    const thread = this.thread;
    if (!thread) return;
    try {
      await thread.call("stop");
    } finally {
      await thread.worker.terminate();
    }
  }

  /** The thread, started on first use (a controller that never schedules never starts one). */
  private running(): RunningThread {
    if (this.stopping) throw new Error("the scheduler is stopped");
    this.thread ??= this.startThread();
    return this.thread;
  }

  private startThread(): RunningThread {
    const { config, holder, log, metrics, writeGate } = this.options;
    const data: SchedulerThreadData = {
      config,
      holder,
      logLevel: log.level,
      metrics: metrics !== undefined,
      ...(writeGate && { writeGate }),
    };
    const worker = (this.options.startThread ?? startSchedulerWorker)(data);
    // The HTTP server keeps the process alive; the scheduler's timers must not, once everything else is closed.
    worker.unref();
    return new RunningThread(
      worker,
      (message) => {
        if (message.kind === "log") relayLogLine(log, message.line);
        else if (message.kind === "metric" && metrics) countIn(metrics, message.event);
      },
      (thread, error) => this.ended(thread, error),
    );
  }

  private ended(thread: RunningThread, error: Error): void {
    if (this.thread !== thread || this.stopping) return;
    this.thread = undefined;
    if (!this.looping) {
      this.options.log.error({ err: error }, "the scheduler thread stopped unexpectedly");
      return;
    }
    this.options.log.error(
      { err: error },
      `the scheduler thread stopped unexpectedly: starting a new one in ${RESTART_DELAY_MS / 1000} s`,
    );
    this.restart = setTimeout(() => {
      if (!this.stopping) this.running().send({ kind: "start" });
    }, RESTART_DELAY_MS).unref();
  }
}
