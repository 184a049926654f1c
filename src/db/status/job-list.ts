/**
 * The jobs part of a `POST rap/status/` body, written straight from the database's JSON (each dialect's status
 * reader, src/db/sqlite/rap-status.ts and src/db/postgres/status-reader.ts): job-server may ask for thousands of jobs at once, so no intermediate objects are built; only the times are
 * printed here, into the place the database marked for them.
 */
import { isAscii } from "node:buffer";
import { asciiJson } from "../../python/ascii-json.js";
import { isoFromUnixSeconds, isPythonTime } from "../../python/datetime.js";

/**
 * The byte that marks the place of a job's times in a batch's `json` (the character U+0001). It cannot occur anywhere
 * else there: JSON text has no raw control characters (json_object escapes them, and so did whoever wrote
 * trace_context and the results), and every byte of a multi-byte UTF-8 character is 0x80 or above.
 */
export const TIME_MARK = 0x01;

/** What takes a job's TIME_MARK: its four times as JSON values (`"2025-…Z"` or `null`) with the keys between. */
export function timesJson(created: string, updated: string, started: string, completed: string): string {
  return `${created},"updated_at":${updated},"started_at":${started},"completed_at":${completed}`;
}

/** A job read as a row: its JSON as the batch has it, and its four times as stored. */
export interface JobStatusRow {
  rap_id: string;
  /** The job's JSON object, TIME_MARK in place of its times (JobListBatch.json). */
  json: string;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  completed_at: number | null;
}

/** Jobs as the database wrote them: each RAP's jobs' JSON around their TIME_MARKs, and their times as text. */
export interface JobListBatch {
  json: Buffer[];
  /** The jobs' four times each, in the order of `json`, comma-separated: whole seconds or null. */
  times: string;
}

const INTEGER = /^-?\d+$/;
const COMMA = Buffer.from(",");
const COMMA_BYTE = COMMA[0]!;

/**
 * A list of jobs as JSON text, batch by batch, kept as bytes so that only one batch of rows and strings is alive at
 * a time: the jobs' objects separated by commas, without the brackets.
 */
export class JobList {
  private readonly parts: Buffer[] = [];
  /** Printed times by their stored text, for this one list: a RAP's jobs share many of their times. */
  private readonly isoTimes = new Map<string, string>();
  /**
   * Stored times that are no time a client could read (not finite, beyond Python's years 1–9999), shown as null:
   * a bad value in the database must not fail every status poll that names its RAP. Agents' times are checked
   * before they are stored (src/http/task-update.ts); these come from older versions or from outside.
   */
  readonly unreadableTimes = new Set<string>();

  addJobs(rows: readonly JobStatusRow[]): void {
    if (rows.length > 0) this.append(Buffer.from(rows.map((row) => this.jobJson(row)).join(",")));
  }

  /** A row's JSON with its times printed in place of its mark. */
  private jobJson(row: JobStatusRow): string {
    const at = row.json.indexOf(String.fromCharCode(TIME_MARK));
    const times = timesJson(
      this.isoOrNull(row.created_at),
      this.isoOrNull(row.updated_at),
      this.isoOrNull(row.started_at),
      this.isoOrNull(row.completed_at),
    );
    return `${row.json.slice(0, at)}${times}${row.json.slice(at + 1)}`;
  }

  private isoOrNull(seconds: number | null): string {
    if (seconds === null) return "null";
    if (isPythonTime(seconds)) return `"${isoFromUnixSeconds(seconds)}"`;
    this.unreadableTimes.add(String(seconds));
    return "null";
  }

  /**
   * Adds a batch of jobs written by the database, printing their times into it; false, adding nothing, when a
   * time is not a whole number of seconds (never written by this code base), which the caller then adds as rows.
   */
  addBatch(batch: JobListBatch): boolean {
    if (batch.json.length === 0) return true;
    const times = this.printedTimes(batch.times);
    if (times === undefined) return false;
    // Each job's mark gives way to its printed times; the RAPs' parts are joined by commas.
    let size = batch.json.length - 1;
    for (const part of batch.json) size += part.length;
    for (const printed of times) size += printed.length - 1;
    const out = Buffer.allocUnsafe(size);
    let at = 0;
    let job = 0;
    for (const [index, part] of batch.json.entries()) {
      if (index > 0) at = out.writeUInt8(COMMA_BYTE, at);
      let from = 0;
      for (let mark = part.indexOf(TIME_MARK); mark !== -1; mark = part.indexOf(TIME_MARK, from)) {
        if (job === times.length) return false;
        at += part.copy(out, at, from, mark);
        at += out.write(times[job++]!, at, "latin1");
        from = mark + 1;
      }
      at += part.copy(out, at, from);
    }
    if (job !== times.length || at !== size) return false;
    this.append(out);
    return true;
  }

  /**
   * Each job's four stored times (four comma-separated values per job) as the JSON that goes from created_at's value
   * to completed_at's; undefined if one is not whole seconds.
   */
  private printedTimes(stored: string): string[] | undefined {
    const values = stored.split(",");
    const printed: string[] = [];
    for (let i = 0; i + 3 < values.length; i += 4) {
      const [created, updated, started, completed] = [
        this.iso(values[i]!),
        this.iso(values[i + 1]!),
        this.iso(values[i + 2]!),
        this.iso(values[i + 3]!),
      ];
      if (created === undefined || updated === undefined || started === undefined || completed === undefined)
        return undefined;
      printed.push(timesJson(created, updated, started, completed));
    }
    return values.length % 4 === 0 ? printed : undefined;
  }

  /** A stored time as JSON (`"2025-…Z"` or `null`); undefined if it is not whole seconds. */
  private iso(time: string): string | undefined {
    let iso = time === "null" ? time : this.isoTimes.get(time);
    if (iso === undefined) {
      if (!INTEGER.test(time)) return undefined;
      iso = this.isoOrNull(Number(time));
      this.isoTimes.set(time, iso);
    }
    return iso;
  }

  private append(jobs: Buffer): void {
    if (this.parts.length > 0) this.parts.push(COMMA);
    this.parts.push(jobs);
  }

  /** The list as ASCII JSON (values are written as UTF-8; the rare list with non-ASCII text is escaped whole). */
  toAscii(): Buffer {
    const list = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    return isAscii(list) ? list : Buffer.from(asciiJson(list.toString("utf8")), "latin1");
  }
}
