/**
 * The one source of the current time. Services receive a Clock and never read the system time themselves, so
 * tests (and `rap tick` in scenarios that need it) can pin and move time; queries take times as parameters.
 */
export interface Clock {
  /** Wall-clock Unix milliseconds (fractional allowed). */
  nowMs(): number;
}

export const systemClock: Clock = { nowMs: () => Date.now() };

/** Whole Unix seconds: job and task times. */
export function nowSeconds(clock: Clock = systemClock): number {
  return Math.floor(clock.nowMs() / 1000);
}

/** Unix nanoseconds (millisecond resolution): status_code_updated_at. */
export function nowNanos(clock: Clock = systemClock): number {
  return Math.floor(clock.nowMs()) * 1_000_000;
}

/** Fractional Unix seconds: flag timestamps, as the reference's time.time(). */
export function nowFractionalSeconds(clock: Clock = systemClock): number {
  return clock.nowMs() / 1000;
}

/** A clock that stands still until moved (tests, benchmarks). */
export class ManualClock implements Clock {
  constructor(private ms: number) {}

  nowMs(): number {
    return this.ms;
  }

  set(ms: number): void {
    this.ms = ms;
  }

  advance(ms: number): void {
    this.ms += ms;
  }
}
