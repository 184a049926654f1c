/**
 * Limits on what one client may ask of the controller (DESIGN DECISIONS 16), so that no request, however hostile,
 * stalls, bloats or confuses it. Ours, not the reference's: it sets none. docs/api.md lists them.
 */
import { type Env, readCount, readPositiveNumber } from "./env.js";
import { ConfigError } from "./errors.js";

export interface Limits {
  /** REQUEST_TIMEOUT (seconds): a request must have fully arrived by then, else it is answered 408 and closed. */
  readonly requestTimeoutMs: number;
  /** KEEP_ALIVE_TIMEOUT (seconds): an idle keep-alive connection is closed after this long. */
  readonly keepAliveTimeoutMs: number;
  /** MAX_BODY_BYTES: a larger request body is answered 413 unread. */
  readonly maxBodyBytes: number;
  /** MAX_STATUS_RAP_IDS: rap_ids one `rap/status/` request may name. */
  readonly maxStatusRapIds: number;
  /** MAX_RUN_COMMAND_BYTES: a create whose job would get a longer `run_command` is refused. */
  readonly maxRunCommandBytes: number;
  /** MAX_AGENT_STRING_CHARS: a longer string in an agent's task update is cut there, with a marker. */
  readonly maxAgentStringChars: number;
}

/** job-server sends every active rap_id (hundreds) in one status request: 10,000 leaves ample room. */
const DEFAULT_MAX_STATUS_RAP_IDS = 10_000;
/** A status request naming that many ids is about 200 kB; create bodies are a few kB. */
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** The longest run_command of the 271 corpus projects is 1.5 kB. */
const DEFAULT_MAX_RUN_COMMAND_BYTES = 64 * 1024;
/**
 * Agents' strings are status messages (a line or two) and error tracebacks (a few kB); every one is stored, and a
 * status message is served in every rap/status answer and logged.
 */
const DEFAULT_MAX_AGENT_STRING_CHARS = 10_000;
/** Above the usual 60 s idle timeout of load balancers, so a proxy never reuses a connection we are closing. */
const DEFAULT_KEEP_ALIVE_SECONDS = 72;

function readAtLeastOne(env: Env, name: string, fallback: number): number {
  const value = readCount(env, name, fallback);
  if (value < 1) throw new ConfigError(name, `must be at least 1, got '${value}'`);
  return value;
}

/** Seconds as whole milliseconds, at least one (0 would mean "no limit" to Node). */
function readMilliseconds(env: Env, name: string, fallbackSeconds: number): number {
  return Math.max(1, Math.round(readPositiveNumber(env, name, fallbackSeconds) * 1000));
}

export function readLimits(env: Env): Limits {
  return Object.freeze({
    requestTimeoutMs: readMilliseconds(env, "REQUEST_TIMEOUT", 30),
    keepAliveTimeoutMs: readMilliseconds(env, "KEEP_ALIVE_TIMEOUT", DEFAULT_KEEP_ALIVE_SECONDS),
    maxBodyBytes: readAtLeastOne(env, "MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
    maxStatusRapIds: readAtLeastOne(env, "MAX_STATUS_RAP_IDS", DEFAULT_MAX_STATUS_RAP_IDS),
    maxRunCommandBytes: readAtLeastOne(env, "MAX_RUN_COMMAND_BYTES", DEFAULT_MAX_RUN_COMMAND_BYTES),
    maxAgentStringChars: readAtLeastOne(env, "MAX_AGENT_STRING_CHARS", DEFAULT_MAX_AGENT_STRING_CHARS),
  });
}
