/** Shared pieces of the registry tests: a fetch that records what it sends, a clock moved by hand, a log. */
import type { ImageDigestOptions, RegistryLogger } from "../../src/registry/index.js";

export interface SentRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** The real global fetch, with every request noted first. */
export function recordingFetch(): { fetch: typeof fetch; sent: SentRequest[] } {
  const sent: SentRequest[] = [];
  const recording: typeof fetch = (input, init) => {
    sent.push({
      method: init?.method ?? "GET",
      url: String(input),
      headers: Object.fromEntries(new Headers(init?.headers).entries()),
    });
    return fetch(input, init);
  };
  return { fetch: recording, sent };
}

export function manualClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
  };
}

export function recordingLog(): RegistryLogger & { warnings: Array<[Record<string, unknown>, string]> } {
  const warnings: Array<[Record<string, unknown>, string]> = [];
  return {
    warnings,
    warn(fields, message) {
      warnings.push([fields, message]);
    },
  };
}

export const TTL_MS = 60_000;

/** Options for an enabled resolver with a 60 s TTL and a 10 s timeout; tests override what they exercise. */
export function options(registry: string, overrides: Partial<ImageDigestOptions> = {}): ImageDigestOptions {
  return { registry, enabled: true, timeoutMs: 10_000, ttlMs: TTL_MS, ...overrides };
}
