/**
 * What an agent posts to `POST /{backend}/task/update/` (reference/controller.md §4.5), checked before anything is
 * stored: one update, however hostile, must never break a later read (rap/status, `rap jobs`) or the scheduler.
 *
 * - The payload is read by the RAP API's JSON reader (src/python/json-loads.ts), so it gets the same nesting limit.
 * - Times are integers in a sane range: the update's `timestamp_ns` from 2000 to one day ahead of the controller's
 *   clock (it stamps the job's status changes), the results' own times from 2000 to 9999 (stored, printable).
 * - Every number is finite (Python's json reads `NaN` and `1e400`; stored, they would make invalid JSON).
 * - Every string is cut at MAX_AGENT_STRING_CHARS with a marker saying how much was cut: a researcher would rather
 *   read the start of a huge status message than have the job's report refused and the job wedged.
 */
import { cut, echo } from "../domain/echo.js";
import { AGENT_CLOCK_LEEWAY_S, EARLIEST_AGENT_TIME_S, LATEST_RESULT_TIME_S } from "../domain/task.js";
import {
  JsonTooDeepError,
  type JsonValue,
  MAX_DEPTH,
  parsePythonJson,
  toPlain,
} from "../python/json-loads.js";
import { TaskUpdateInvalidError } from "./errors.js";

export interface AgentReport {
  taskId: string;
  stage: string;
  complete: boolean;
  results: Record<string, unknown>;
  /** Agent clock, Unix nanoseconds; null leaves the stored one (0, "" and null, as in the reference). */
  timestampNs: number | null;
}

export interface TaskUpdateBounds {
  /** The controller's clock, Unix nanoseconds. */
  nowNs: number;
  /** MAX_AGENT_STRING_CHARS. */
  maxStringChars: number;
}

const EXIT_CODE_BOUND = 2 ** 31;

/** A valid update from the form's `payload` field, or a TaskUpdateInvalidError naming what is wrong. */
export function parseTaskUpdate(form: Buffer | undefined, bounds: TaskUpdateBounds): AgentReport {
  const payload = new URLSearchParams((form ?? Buffer.alloc(0)).toString("utf8")).get("payload");
  if (payload === null) throw new TaskUpdateInvalidError("The form has no 'payload' field");
  let value: JsonValue;
  try {
    value = parsePythonJson(payload);
  } catch (error) {
    if (error instanceof JsonTooDeepError)
      throw new TaskUpdateInvalidError(`'payload' is nested more than ${MAX_DEPTH} levels deep`);
    throw new TaskUpdateInvalidError("'payload' is not valid JSON");
  }
  if (!(value instanceof Map)) throw new TaskUpdateInvalidError("'payload' must be a JSON object");
  const taskId = value.get("task_id");
  const stage = value.get("stage");
  const complete = value.get("complete");
  const results = value.get("results") ?? null;
  if (typeof taskId !== "string" || taskId === "") fail("task_id", "a non-empty string");
  if (typeof stage !== "string") fail("stage", "a string");
  if (typeof complete !== "boolean") fail("complete", "true or false");
  if (!(results === null || results instanceof Map)) fail("results", "an object");

  const timestampNs = updateTime(value.get("timestamp_ns"), bounds.nowNs / 1e9 + AGENT_CLOCK_LEEWAY_S);
  if (results !== null) checkResultFields(results);

  const plainResults = results === null ? {} : bounded(toPlain(results), "results", bounds.maxStringChars);
  return {
    taskId: taskId as string,
    stage: bounded(stage, "stage", bounds.maxStringChars) as string,
    complete: complete as boolean,
    results: plainResults as Record<string, unknown>,
    timestampNs,
  };
}

function fail(field: string, expected: string): never {
  throw new TaskUpdateInvalidError(`'payload.${echo(field)}' must be ${expected}`);
}

/** The update's own time: it stamps the job's status changes, so it may not run ahead of the controller's clock. */
function updateTime(value: JsonValue | undefined, latestS: number): number | null {
  if (value === undefined || value === null || value === "" || value === 0n) return null;
  const ns = typeof value === "bigint" ? Number(value) : Number.NaN;
  if (!within(ns / 1e9, latestS))
    fail("timestamp_ns", "a time in nanoseconds between 2000 and one day from now");
  return ns;
}

function within(seconds: number, latest: number): boolean {
  return seconds >= EARLIEST_AGENT_TIME_S && seconds <= latest;
}

/** The result fields the reference reads as integers (job metadata, reference/agent.md §3.10–3.11). */
function checkResultFields(results: Map<string, JsonValue>): void {
  const integer = (key: string) => {
    const value = results.get(key);
    return value === undefined || value === null
      ? null
      : typeof value === "bigint"
        ? Number(value)
        : Number.NaN;
  };
  const exitCode = results.get("exit_code");
  // The reference's agent sends str(exit_code) ("0", "None"); an integer is accepted too.
  if (typeof exitCode !== "string" && !(Math.abs(integer("exit_code") ?? 0) < EXIT_CODE_BOUND))
    fail("results.exit_code", "an integer exit code");
  const ns = integer("timestamp_ns");
  if (ns !== null && !within(ns / 1e9, LATEST_RESULT_TIME_S))
    fail("results.timestamp_ns", "a time in nanoseconds between 2000 and 9999");
  for (const key of ["created_at", "completed_at"]) {
    const seconds = integer(key);
    if (seconds !== null && !within(seconds, LATEST_RESULT_TIME_S))
      fail(`results.${key}`, "a time in seconds between 2000 and 9999");
  }
  const metrics = results.get("job_metrics");
  if (!(metrics === undefined || metrics === null || metrics instanceof Map))
    fail("results.job_metrics", "an object");
}

/** The value with every string cut at `maxChars`; a non-finite number or an over-long key is refused. */
function bounded(value: unknown, path: string, maxChars: number): unknown {
  if (typeof value === "string")
    return cut(value, maxChars, (omitted) => ` … [cut by the controller: ${omitted} more characters]`);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) fail(path, "a finite number");
    return value;
  }
  if (Array.isArray(value)) return value.map((item, index) => bounded(item, `${path}[${index}]`, maxChars));
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).map(([key, item]) => {
      if (key.length > maxChars)
        throw new TaskUpdateInvalidError(
          `'payload.${path}' has a key longer than ${maxChars} characters: '${echo(key)}'`,
        );
      return [key, bounded(item, `${path}.${key}`, maxChars)] as const;
    });
    return Object.fromEntries(entries);
  }
  return value;
}
