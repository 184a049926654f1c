/**
 * Watches running jobs' containers so the agent finalizes a job as soon as its container ends, not at its next
 * poll (a second later at the default JOB_LOOP_INTERVAL). A watch reads the container's output stream to its end
 * (every runtime's `follow` ends once the container has ended) and then calls back once; the loop then handles the
 * job's task as a poll would. A watch is only a shortcut: when it fails or is stopped, the polls carry on as before.
 */
import type { Runtime } from "./runtime/types.js";

interface Watch {
  readonly stop: AbortController;
  readonly ended: Promise<void>;
}

export class ExitWatches {
  private readonly watches = new Map<string, Watch>();
  /** Keys whose watch has called back: one call each, so a runtime that ends streams early cannot spin the loop. */
  private readonly called = new Set<string>();

  constructor(private readonly runtime: Pick<Runtime, "follow">) {}

  /** Calls `onEnd` once the container `name` has ended, unless `key` is already watched or was called back. */
  watch(key: string, name: string, signal: AbortSignal, onEnd: () => void): void {
    if (this.watches.has(key) || this.called.has(key) || signal.aborted) return;
    const stop = new AbortController();
    const both = AbortSignal.any([stop.signal, signal]);
    const ended = this.follow(name, both).then((ok) => {
      if (this.watches.get(key)?.stop === stop) this.watches.delete(key);
      if (!ok || both.aborted) return;
      this.called.add(key);
      onEnd();
    });
    this.watches.set(key, { stop, ended });
  }

  /** Stops watching every key not in `keep` and forgets that they were called back. */
  keepOnly(keep: Pick<ReadonlySet<string>, "has">): void {
    for (const [key, watch] of this.watches) if (!keep.has(key)) watch.stop.abort();
    for (const key of this.called) if (!keep.has(key)) this.called.delete(key);
  }

  /** Resolves once every watch has ended (their signal aborted: the agent is stopping). */
  async settled(): Promise<void> {
    await Promise.all([...this.watches.values()].map((watch) => watch.ended));
  }

  /**
   * True when the stream ran to its end; false when it failed (the polls will see to the job) or the signal aborted
   * first (without waiting on a stream that is slow to notice).
   */
  private async follow(name: string, signal: AbortSignal): Promise<boolean> {
    const drained = (async () => {
      for await (const _chunk of this.runtime.follow(name, signal)) {
        // Only the stream's end matters here.
      }
      return true;
    })().catch(() => false);
    const aborted = new Promise<false>((resolve) => signal.addEventListener("abort", () => resolve(false)));
    return Promise.race([drained, aborted]);
  }
}
