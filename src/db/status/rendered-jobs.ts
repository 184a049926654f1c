/**
 * The jobs of a `POST rap/status/` answer as each dialect's status source (./cached-reader.ts) has the database write
 * them (src/db/sqlite/status-source.ts, src/db/postgres/status-source.ts): job-server may ask for thousands of jobs at
 * once, so no object is built per job; the database writes each job's JSON, and only the times are printed here,
 * into the place the database marked for them. Pure: no I/O.
 */
import { isAscii } from "node:buffer";
import { asciiJson } from "../../python/ascii-json.js";
import { isoFromUnixSeconds, isPythonTime } from "../../python/datetime.js";

/**
 * The byte that marks the place of a job's times in its JSON (U+0001), and the byte between two jobs' JSON (U+0002).
 * Neither can occur anywhere else there: JSON text has no raw control characters (the database's JSON functions
 * escape them, and so did whoever wrote trace_context and the results), and every byte of a multi-byte UTF-8
 * character is 0x80 or above.
 */
export const TIME_MARK = 0x01;
export const JOB_SEPARATOR = 0x02;

/** What takes a job's TIME_MARK: its four times as JSON values (`"2025-…Z"` or `null`) with the keys between. */
export function timesJson(created: string, updated: string, started: string, completed: string): string {
  return `${created},"updated_at":${updated},"started_at":${started},"completed_at":${completed}`;
}

/** Some jobs as one statement of the database wrote them, in one order throughout. */
export interface RenderedBatch {
  /**
   * The jobs' JSON objects in UTF-8, JOB_SEPARATOR between two: the API's 15 keys in its order (reference/scenarios.md
   * §0.6), except that in place of the four times (the value of created_at up to that of completed_at) there is one
   * TIME_MARK.
   */
  json: Buffer;
  /** Each job's four times, comma-separated: whole seconds or null (SQLite may print other numbers). */
  times: string;
  /** Each job's `key stamp`, comma-separated (the key and the stamp: ./cached-reader.ts). */
  stamps: string;
}

/** Jobs ready to send: their JSON objects in ASCII bytes, each followed by a comma, and what each is. */
export interface PrintedJobs {
  json: Uint8Array;
  /** Where each job's JSON and comma end in `json` (the next one's starts there). */
  ends: number[];
  keys: string[];
  stamps: string[];
  /** Stored times that could not be shown (shown as null), as stored: for the caller to log once. */
  unreadableTimes: string[];
}

/** Jobs' `key stamp,key stamp,…` as either database writes them (keys and stamps have neither character). */
export function splitStamps(text: string): { keys: string[]; stamps: string[] } {
  const keys: string[] = [];
  const stamps: string[] = [];
  if (text === "") return { keys, stamps };
  for (const entry of text.split(",")) {
    const space = entry.indexOf(" ");
    keys.push(entry.slice(0, space));
    stamps.push(entry.slice(space + 1));
  }
  return { keys, stamps };
}

/** A job's four times as stored, as numbers: for a job whose `times` text cannot be read back (SQLite's reals). */
export type ExactTimes = readonly [number, number, number | null, number | null];

const INTEGER = /^-?\d+$/;
const COMMA = 0x2c;

/** Prints stored times as JSON values, each distinct one once: a RAP's jobs share many of their times. */
class TimePrinter {
  private readonly printed = new Map<string, string>();
  readonly unreadable = new Set<string>();

  /** A stored time's text as JSON (`"2025-…Z"` or `null`); undefined if it is not whole seconds. */
  fromText(time: string): string | undefined {
    let iso = time === "null" ? time : this.printed.get(time);
    if (iso === undefined) {
      if (!INTEGER.test(time)) return undefined;
      iso = this.fromSeconds(Number(time));
      this.printed.set(time, iso);
    }
    return iso;
  }

  /**
   * Stored times that are no time a client could read (not finite, beyond Python's years 1–9999) are shown as null:
   * a bad value in the database must not fail every status poll that names its RAP. Agents' times are checked
   * before they are stored (src/http/task-update.ts); these come from older versions or from outside.
   */
  fromSeconds(seconds: number | null): string {
    if (seconds === null) return "null";
    if (isPythonTime(seconds)) return `"${isoFromUnixSeconds(seconds)}"`;
    this.unreadable.add(String(seconds));
    return "null";
  }
}

/**
 * Prints the batch's jobs, each with its times in place of its mark and escaped to ASCII as the reference's
 * `json.dumps` does. `{ inexact }` names (by key) the jobs whose times are stored as other than whole seconds, whose
 * text SQLite prints with too few digits to read back: the caller reads those as numbers and prints the batch with
 * them.
 */
export function printJobs(
  batch: RenderedBatch,
  exactTimesByKey: ReadonlyMap<string, ExactTimes> = new Map(),
): { printed: PrintedJobs } | { inexact: string[] } {
  const { keys, stamps } = splitStamps(batch.stamps);
  const times = batch.times === "" ? [] : batch.times.split(",");
  if (times.length !== keys.length * 4)
    throw new Error("rap/status: the jobs' times do not match their stamps");
  const printer = new TimePrinter();
  const printedTimes: string[] = [];
  const inexact: string[] = [];
  for (const [index, key] of keys.entries()) {
    const exact = exactTimesByKey.get(key);
    const four = exact
      ? exact.map((seconds) => printer.fromSeconds(seconds))
      : times.slice(index * 4, index * 4 + 4).map((time) => printer.fromText(time));
    if (four.some((time) => time === undefined)) inexact.push(key);
    else printedTimes.push(timesJson(four[0]!, four[1]!, four[2]!, four[3]!));
  }
  if (inexact.length > 0) return { inexact };
  const { json, ends } = spliceTimes(batch.json, printedTimes);
  return { printed: { json, ends, keys, stamps, unreadableTimes: [...printer.unreadable] } };
}

/**
 * The batch's jobs one after another, each mark given way to its job's printed times, each job in ASCII and followed
 * by a comma (so that jobs printed together and sent together are one run of bytes).
 */
function spliceTimes(json: Buffer, printedTimes: readonly string[]): { json: Uint8Array; ends: number[] } {
  if (printedTimes.length === 0) return { json: Buffer.alloc(0), ends: [] };
  // Each separator gives way to a comma, the last job gets one too, and each mark to its times.
  let size = json.length + 1 - printedTimes.length;
  for (const printed of printedTimes) size += printed.length;
  let out = Buffer.allocUnsafe(size);
  const ends: number[] = [];
  let at = 0;
  let from = 0;
  // Printed times are ASCII: a batch sent as it is needs no job checked on its own.
  const plain = isSentAsIs(json);
  for (const printed of printedTimes) {
    const found = json.indexOf(JOB_SEPARATOR, from);
    const end = found === -1 ? json.length : found;
    const job = json.subarray(from, end);
    const mark = job.indexOf(TIME_MARK);
    if (mark === -1 || job.indexOf(TIME_MARK, mark + 1) !== -1)
      throw new Error("rap/status: a job's JSON does not have one place for its times");
    const start = at;
    at += job.copy(out, at, 0, mark);
    at += out.write(printed, at, "latin1");
    at += job.copy(out, at, mark + 1);
    if (!plain && !isSentAsIs(out.subarray(start, at))) {
      // Rare (non-ASCII text in a job): this job's JSON escaped, the rest moved to make room.
      const escaped = Buffer.from(asciiJson(out.subarray(start, at).toString("utf8")), "latin1");
      const grown = Buffer.allocUnsafe(size + escaped.length - (at - start));
      out.copy(grown, 0, 0, start);
      escaped.copy(grown, start);
      size = grown.length;
      out = grown;
      at = start + escaped.length;
    }
    at = out.writeUInt8(COMMA, at);
    ends.push(at);
    from = end + 1;
  }
  if (at !== size || from !== json.length + 1)
    throw new Error("rap/status: the jobs' JSON does not match their stamps");
  return { json: out, ends };
}

/** ASCII bytes with nothing the reference would escape: everything from DEL (0x7f) up is written as `\uXXXX`. */
function isSentAsIs(json: Uint8Array): boolean {
  return isAscii(json) && json.indexOf(0x7f) === -1;
}
