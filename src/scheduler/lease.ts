/**
 * The scheduler's side of the lease (src/db/storage.ts LeaseStore, DESIGN DECISIONS 17): a pass starts only once
 * this process holds it, and every transaction of the pass renews it first, so a scheduler that has lost it (it
 * stalled past the lease's time and another took over) stops before any further write commits.
 */
import { hostname } from "node:os";
import type { Lease, LeaseStore, Stores } from "../db/storage.js";
import type { Clock } from "../domain/clock.js";

/** How a lease holder is named: enough for an operator to find the process. */
export function processHolder(): string {
  return `pid ${process.pid} on ${hostname()}`;
}

/** Another scheduler holds the lease: no pass was run. */
export class LeaseHeldError extends Error {
  constructor(readonly lease: Lease) {
    super(`another scheduler holds the lease: ${describeLease(lease)}`);
  }
}

/** The lease was taken by another scheduler during the pass: the pass stopped, its last write rolled back. */
export class LeaseLostError extends Error {
  constructor(holder: string) {
    super(`the scheduler lease of ${holder} was taken by another scheduler: this pass stopped`);
  }
}

export function describeLease(lease: Lease): string {
  return `${lease.holder}, until ${new Date(lease.expiresAtMs).toISOString()}`;
}

export class SchedulerLease {
  /**
   * Counts this scheduler's terms as the holder: a new one begins whenever it takes the lease without having held
   * it throughout since its last renewal, as another scheduler may have held it meanwhile (its passes then start
   * from a full read).
   */
  term = 0;
  /**
   * Until when this scheduler holds the lease, as it last took it or a transaction that renewed it committed (its
   * clock); undefined: it does not.
   */
  private heldUntilMs: number | undefined;
  /** Until when the renewal in the open transaction holds the lease, once (if) that transaction commits. */
  private renewingUntilMs: number | undefined;

  constructor(
    private readonly store: LeaseStore,
    readonly holder: string,
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  /** Takes (or renews) the lease; a LeaseHeldError when another scheduler holds it. */
  async acquire(): Promise<void> {
    const nowMs = this.clock.nowMs();
    const lease = await this.store.acquire(this.holder, nowMs, this.ttlMs);
    if (lease.holder !== this.holder) {
      this.heldUntilMs = undefined;
      throw new LeaseHeldError(lease);
    }
    if (this.heldUntilMs === undefined || nowMs >= this.heldUntilMs) this.term += 1;
    this.heldUntilMs = lease.expiresAtMs;
  }

  /** Inside a transaction of the pass, before its writes: renews the lease, or a LeaseLostError (it rolls back). */
  async renewIn(stores: Stores): Promise<void> {
    const nowMs = this.clock.nowMs();
    if (!(await stores.lease.renew(this.holder, nowMs, this.ttlMs))) {
      this.heldUntilMs = undefined;
      throw new LeaseLostError(this.holder);
    }
    this.renewingUntilMs = nowMs + this.ttlMs;
  }

  /**
   * The transaction that last renewed the lease (`renewIn`) has committed: the lease is held until then, so a pass
   * that outlasts the lease's time while it writes keeps its term (and its next pass reads only what changed).
   */
  renewalCommitted(): void {
    if (this.heldUntilMs !== undefined && this.renewingUntilMs !== undefined)
      this.heldUntilMs = Math.max(this.heldUntilMs, this.renewingUntilMs);
    this.renewingUntilMs = undefined;
  }

  release(): Promise<void> {
    this.heldUntilMs = undefined;
    this.renewingUntilMs = undefined;
    return this.store.release(this.holder);
  }
}
