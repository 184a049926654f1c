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
  constructor(
    private readonly store: LeaseStore,
    readonly holder: string,
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  /** Takes (or renews) the lease; a LeaseHeldError when another scheduler holds it. */
  async acquire(): Promise<void> {
    const lease = await this.store.acquire(this.holder, this.clock.nowMs(), this.ttlMs);
    if (lease.holder !== this.holder) throw new LeaseHeldError(lease);
  }

  /** Inside a transaction of the pass, before its writes: renews the lease, or a LeaseLostError (it rolls back). */
  async renewIn(stores: Stores): Promise<void> {
    if (!(await stores.lease.renew(this.holder, this.clock.nowMs(), this.ttlMs)))
      throw new LeaseLostError(this.holder);
  }

  release(): Promise<void> {
    return this.store.release(this.holder);
  }
}
