/**
 * LOGS_TO_CONTROLLER=true: the agent sends each running job's output to the controller as it is written, in
 * bounded batches (src/agent/log-batcher.ts) over the Task API, so an operator can follow it from elsewhere (the
 * controller's live-log stream). Off by default: a job's output may hold sensitive data (DESIGN DECISIONS 14).
 * Best effort: a batch the controller does not take is logged and left out, never retried without end, and nothing
 * here can fail the job.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { AgentLiveLogs } from "../config/live-logs.js";
import { followJobOutput } from "./live-output.js";
import type { AgentLogger } from "./log.js";
import { type LogBatch, LogBatcher } from "./log-batcher.js";
import type { Runtime } from "./runtime/types.js";

export type SendLogs = (taskId: string, batch: LogBatch) => Promise<void>;

/** The longest a finished job's completion waits for its last batch to be sent (best effort, as all of this). */
const LAST_BATCH_WAIT_MS = 5000;

export interface LogShipperOptions {
  runtime: Runtime;
  send: SendLogs;
  limits: AgentLiveLogs;
  log: AgentLogger;
  nowMs?: () => number;
}

export class LogShipper {
  /** Each job being followed: how to stop it, and when all its output has been sent. */
  private readonly following = new Map<string, { stop: AbortController; sent: Promise<void> }>();

  constructor(private readonly options: LogShipperOptions) {}

  /** Starts sending the job's output, unless it is already being sent. */
  watch(taskId: string, jobId: string): void {
    if (this.following.has(jobId)) return;
    const stop = new AbortController();
    const sent = this.ship(taskId, jobId, stop.signal)
      .catch((error: unknown) =>
        this.options.log.warn(
          { job: jobId, err: String(error) },
          "stopped sending a job's output to the controller",
        ),
      )
      .finally(() => this.following.delete(jobId));
    this.following.set(jobId, { stop, sent });
  }

  /**
   * Resolves once the output of a job whose container has ended has all been sent (at once if it is not being
   * followed), or after LAST_BATCH_WAIT_MS: the job's completion is reported after its last lines, so the
   * controller's live-log stream does not end before them.
   */
  async sent(jobId: string): Promise<void> {
    const following = this.following.get(jobId);
    if (!following) return;
    const waited = new AbortController();
    await Promise.race([
      following.sent,
      sleep(LAST_BATCH_WAIT_MS, undefined, { signal: waited.signal }).catch(() => {}),
    ]);
    waited.abort();
  }

  /** Stops every follower (the agent is stopping). */
  stop(): void {
    for (const { stop } of this.following.values()) stop.abort();
  }

  private async ship(taskId: string, jobId: string, signal: AbortSignal): Promise<void> {
    const { limits, runtime, log } = this.options;
    const batcher = new LogBatcher(limits, this.options.nowMs ?? Date.now);
    // Batches go one at a time, in order.
    let sending = Promise.resolve();
    const send = (batch: LogBatch | null) => {
      if (!batch) return;
      sending = sending.then(() =>
        this.options.send(taskId, batch).catch((error: unknown) => {
          log.warn(
            { job: jobId, err: String(error) },
            "the controller did not take a batch of a job's output",
          );
        }),
      );
    };
    const timer = setInterval(() => send(batcher.take(false)), limits.batchIntervalMs);
    try {
      for await (const line of followJobOutput(runtime, { id: jobId }, signal)) {
        send(batcher.add(line));
        // While a batch is on its way, the runtime's stream waits rather than lines piling up here.
        await sending;
      }
      if (!signal.aborted) send(batcher.take(true));
    } finally {
      clearInterval(timer);
      await sending;
    }
  }
}
