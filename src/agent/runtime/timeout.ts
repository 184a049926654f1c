import { RuntimeTimeoutError } from "./types.js";

/**
 * `work` under the runtime contract's timeout: when it fires, the signal aborts (so a request to an unresponsive
 * daemon is dropped rather than left open) and the call rejects with RuntimeTimeoutError, worded
 * `{runtime} timed out after {s}s {what}`.
 */
export async function withTimeout<T>(
  runtime: string,
  what: string,
  timeoutMs: number,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new RuntimeTimeoutError(`${runtime} timed out after ${timeoutMs / 1000}s ${what}`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([work(controller.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
