import { RuntimeTimeoutError } from "./types.js";

/**
 * `work` under the runtime contract's timeout: when it fires, the signal aborts (so a request to an unresponsive
 * daemon is dropped rather than left open) and the call rejects with RuntimeTimeoutError, worded
 * `{runtime} timed out after {s}s {what}`. When `stop` aborts first (the caller no longer wants the answer), the
 * signal aborts too and the call rejects with `stop`'s reason.
 */
export async function withTimeout<T>(
  runtime: string,
  what: string,
  timeoutMs: number,
  work: (signal: AbortSignal) => Promise<T>,
  stop?: AbortSignal,
): Promise<T> {
  stop?.throwIfAborted();
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let onStop: (() => void) | undefined;
  const ended = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new RuntimeTimeoutError(`${runtime} timed out after ${timeoutMs / 1000}s ${what}`));
    }, timeoutMs);
    onStop = () => {
      controller.abort();
      reject(stop?.reason);
    };
    stop?.addEventListener("abort", onStop, { once: true });
  });
  try {
    return await Promise.race([work(controller.signal), ended]);
  } finally {
    clearTimeout(timer);
    if (onStop) stop?.removeEventListener("abort", onStop);
  }
}
