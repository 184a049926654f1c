/**
 * A worker thread's log lines, written by the process's logger: the thread logs with pino into `threadLogger`'s
 * destination, which hands each JSON line to the thread's parent, and the parent writes it again with its own logger
 * (`relayLogLine`), so every line of the process goes to one place, at one level, with one format (and a test's
 * logger sees the thread's lines too).
 */
import pino, { type Logger } from "pino";

/** A logger at `level` whose lines go to `send` (in a worker thread: to the parent). */
export function threadLogger(level: string, send: (line: string) => void): Logger {
  return pino({ level }, { write: send });
}

/** What pino writes of an error (its `err` serializer). */
interface SerializedError {
  type?: unknown;
  message?: unknown;
  stack?: unknown;
  [key: string]: unknown;
}

/** An Error that pino serializes as it did `serialized` in the thread (type, message, stack and own fields). */
function revived(serialized: SerializedError): Error {
  const { type, message, stack, ...fields } = serialized;
  const name = typeof type === "string" ? type : "Error";
  // pino names an error's type after its constructor.
  const Named = { [name]: class extends Error {} }[name]!;
  const error = Object.assign(new Named(String(message ?? "")), fields);
  if (typeof stack === "string") error.stack = stack;
  return error;
}

/** Writes a line of `threadLogger`'s with `log`: its level, message and fields; the time is the relay's. */
export function relayLogLine(log: Logger, line: string): void {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    log.warn({ line }, "a worker thread wrote a log line that is not JSON");
    return;
  }
  const { level, time: _time, pid: _pid, hostname: _hostname, msg, err, ...fields } = record;
  const label = log.levels.labels[Number(level)] ?? "info";
  if (err !== null && typeof err === "object") fields.err = revived(err as SerializedError);
  (log[label as pino.Level] as pino.LogFn).call(log, fields, typeof msg === "string" ? msg : undefined);
}
