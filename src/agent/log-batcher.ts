/**
 * A running job's output lines gathered into batches for the controller (LOGS_TO_CONTROLLER), within the operator's
 * bounds (pure): no batch over `maxBatchBytes`, and no more than `maxBytesPerSecond` on average (a token bucket
 * holding one second's worth); a line past the rate is left out and counted, never queued, so a job printing
 * without end costs the agent no memory and the controller no more than the rate.
 */

export interface LogBatch {
  /** The index (from 0, left-out lines counted) of the first line here: the controller drops what it has. */
  first_line: number;
  lines: string[];
  /** Lines left out (over the rate) since the last batch. */
  dropped: number;
  /** The job's output has ended: nothing follows. */
  end: boolean;
}

export interface BatchLimits {
  readonly maxBatchBytes: number;
  readonly maxBytesPerSecond: number;
}

/** JSON's quotes and comma around each line, and its newline. */
const LINE_OVERHEAD = 4;

export class LogBatcher {
  private lines: string[] = [];
  private bytes = 0;
  private dropped = 0;
  private next = 0;
  private first = 0;
  private allowance: number;
  private lastMs: number;

  constructor(
    private readonly limits: BatchLimits,
    private readonly nowMs: () => number,
  ) {
    this.allowance = limits.maxBytesPerSecond;
    this.lastMs = nowMs();
  }

  /** Takes a line; answers the batch to send first when this line would not fit in the current one. */
  add(line: string): LogBatch | null {
    const index = this.next++;
    // JSON escapes can make a line longer on the wire; counting twice its bytes bounds that.
    const size = 2 * Buffer.byteLength(line) + LINE_OVERHEAD;
    this.refill();
    if (size > this.allowance || size > this.limits.maxBatchBytes) {
      this.dropped++;
      return null;
    }
    this.allowance -= size;
    const full = this.bytes + size > this.limits.maxBatchBytes ? this.take(false) : null;
    if (this.lines.length === 0) this.first = index;
    this.lines.push(line);
    this.bytes += size;
    return full;
  }

  /** The lines gathered so far as a batch; null when there is nothing to say. */
  take(end: boolean): LogBatch | null {
    if (this.lines.length === 0 && this.dropped === 0 && !end) return null;
    const batch = {
      first_line: this.lines.length === 0 ? this.next : this.first,
      lines: this.lines,
      dropped: this.dropped,
      end,
    };
    this.lines = [];
    this.bytes = 0;
    this.dropped = 0;
    return batch;
  }

  private refill(): void {
    const now = this.nowMs();
    const rate = this.limits.maxBytesPerSecond;
    this.allowance = Math.min(rate, this.allowance + ((now - this.lastMs) / 1000) * rate);
    this.lastMs = now;
  }
}
