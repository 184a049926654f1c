/**
 * What agents send of running jobs' output (LOGS_TO_CONTROLLER=true), kept in the controller's memory for the
 * live-log stream: bounded per job and in all (the oldest job's lines go first) and in time (LOGS_RETENTION after a
 * job's last batch). Memory, not the database: it is a view of output in flight, which the job's own log on its
 * backend keeps for good. With several controller replicas, a job's lines are on the replica its agent reached.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { ControllerLiveLogs } from "../config/live-logs.js";
import type { JobStore } from "../db/storage.js";
import { isActiveState } from "../domain/status.js";
import type { JobOutput } from "./logs.js";

/** A batch as the Task API has checked it (src/http/task-logs.ts). */
export interface ReceivedBatch {
  firstLine: number;
  lines: readonly string[];
  dropped: number;
  end: boolean;
}

interface JobLines {
  /** Index of lines[0] among all the job's lines (left-out ones counted). */
  first: number;
  lines: string[];
  bytes: number;
  ended: boolean;
  lastMs: number;
}

export interface ReadLines {
  lines: string[];
  /** The index to read from next time. */
  next: number;
  /** Lines between `from` and what is kept, no longer here (or never sent). */
  missed: number;
  ended: boolean;
}

const lineBytes = (line: string) => Buffer.byteLength(line) + 1;

export class JobLogBuffer {
  private readonly jobs = new Map<string, JobLines>();
  private total = 0;

  constructor(
    private readonly limits: Pick<ControllerLiveLogs, "maxBytesPerJob" | "maxBytes" | "retentionMs">,
    private readonly nowMs: () => number = Date.now,
  ) {}

  append(jobId: string, batch: ReceivedBatch): void {
    this.prune();
    const now = this.nowMs();
    let job = this.jobs.get(jobId);
    if (!job) {
      job = { first: batch.firstLine, lines: [], bytes: 0, ended: false, lastMs: now };
      this.jobs.set(jobId, job);
    }
    // Map order is the order of last writes: the job written to now goes last.
    this.jobs.delete(jobId);
    this.jobs.set(jobId, job);
    job.lastMs = now;
    job.ended ||= batch.end;
    const next = job.first + job.lines.length;
    // A batch sent again (the agent restarted) adds only what is new; a gap (lines left out) is noted.
    const fresh = batch.lines.slice(Math.max(0, next - batch.firstLine));
    const gap = Math.max(0, batch.firstLine - next);
    const missed =
      gap > 0 || batch.dropped > 0 ? [`[… ${gap || batch.dropped} lines were left out here …]`] : [];
    for (const line of [...missed, ...fresh]) {
      job.lines.push(line);
      job.bytes += lineBytes(line);
      this.total += lineBytes(line);
    }
    while (job.bytes > this.limits.maxBytesPerJob && job.lines.length > 0) this.dropFirst(job);
    for (const [id, oldest] of this.jobs) {
      if (this.total <= this.limits.maxBytes) break;
      this.total -= oldest.bytes;
      this.jobs.delete(id);
    }
  }

  read(jobId: string, from: number): ReadLines {
    this.prune();
    const job = this.jobs.get(jobId);
    if (!job) return { lines: [], next: from, missed: 0, ended: false };
    const start = Math.max(from, job.first);
    return {
      lines: job.lines.slice(start - job.first),
      next: job.first + job.lines.length,
      missed: start - from,
      ended: job.ended,
    };
  }

  /** Bytes of lines kept, all jobs together. */
  get bytes(): number {
    return this.total;
  }

  private dropFirst(job: JobLines): void {
    const line = job.lines.shift()!;
    job.first++;
    job.bytes -= lineBytes(line);
    this.total -= lineBytes(line);
  }

  private prune(): void {
    const cutoff = this.nowMs() - this.limits.retentionMs;
    for (const [id, job] of this.jobs) {
      if (job.lastMs >= cutoff) break;
      this.total -= job.bytes;
      this.jobs.delete(id);
    }
  }
}

/**
 * A job's output from the buffer, as it arrives: what is kept, then each new batch, until the agent says it ended
 * or the job has finished; nothing at once while none has come. `pollMs` is how often it looks for more.
 */
export function storedJobOutput(buffer: JobLogBuffer, jobs: JobStore, pollMs = 250): JobOutput {
  return async function* (job, signal) {
    let next = 0;
    for (;;) {
      const read = buffer.read(job.id, next);
      if (read.missed > 0) yield `[… ${read.missed} earlier lines are no longer kept by the controller …]`;
      yield* read.lines;
      // Nothing sent yet: back to the follower, which reads the job's status meanwhile and asks again.
      if (read.lines.length === 0 && read.missed === 0 && next === 0) return;
      next = read.next;
      if (read.ended || signal.aborted) return;
      const current = await jobs.get(job.id);
      if (!current || !isActiveState(current.state)) {
        yield* buffer.read(job.id, next).lines;
        return;
      }
      await sleep(pollMs, undefined, { signal }).catch(() => undefined);
    }
  };
}
