/**
 * Requests to the registry and its token service: every one bounded by the timeout, and every way one can fail
 * turned into a short reason fit for a job's status message ("connection refused"). Reasons never hold a token:
 * they are built from error codes and status numbers only.
 */

export type Fetch = typeof fetch;

/** One request, aborted (with a TimeoutError) when neither the answer nor its body arrive within the timeout. */
export type TimedFetch = (url: string, init: RequestInit) => Promise<Response>;

export function timedFetch(fetchFn: Fetch, timeoutMs: number): TimedFetch {
  return (url, init) => fetchFn(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
}

/** An answer that arrived but cannot be used; its message is the reason as shown to people. */
export class UnusableAnswerError extends Error {
  readonly code = "REGISTRY_ANSWER_UNUSABLE";
  constructor(reason: string) {
    super(reason);
    this.name = "UnusableAnswerError";
  }
}

const NETWORK_REASONS: Readonly<Record<string, string>> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  EPIPE: "connection reset",
  UND_ERR_SOCKET: "connection closed without an answer",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host not found",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ETIMEDOUT: "connection timed out",
  UND_ERR_CONNECT_TIMEOUT: "connection timed out",
};

/** Why a request failed, in a few words. */
export function describeFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof UnusableAnswerError) return error.message;
  if (hasName(error, "TimeoutError")) return `no answer within ${Number((timeoutMs / 1000).toFixed(3))} s`;
  const code = networkErrorCode(error);
  if (code === undefined) return "network error";
  if (NETWORK_REASONS[code]) return NETWORK_REASONS[code];
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) return `TLS certificate not accepted (${code})`;
  return `network error ${code}`;
}

/** fetch wraps the socket error as `cause`; connecting to several addresses gives an AggregateError of them. */
function networkErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === "object" && current !== null; depth += 1) {
    const { code } = current as { code?: unknown };
    if (typeof code === "string") return code;
    current = current instanceof AggregateError ? current.errors[0] : (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function hasName(error: unknown, name: string): boolean {
  return typeof error === "object" && error !== null && (error as { name?: unknown }).name === name;
}
