/**
 * The `POST rap/status/` body, written straight from database rows: job-server may ask for thousands of jobs at
 * once, so no intermediate objects are built and JSON columns (trace_context, metrics) are copied as the text they
 * are stored as.
 *
 * Each job has exactly the reference's 15 keys in its order (reference/scenarios.md §0.6): job-server stores every
 * key but rap_id, backend and requires_db, and any other key would break its whole status poll.
 */
import { isAscii } from "node:buffer";
import { type JobStatusBatch, type JobStatusRow, TIME_MARK } from "../../db/queries/rap-status.js";
import { asciiJson } from "../../python/ascii-json.js";
import { isoFromUnixSeconds, isPythonTime } from "../../python/datetime.js";

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

  private jobJson(row: JobStatusRow): string {
    return (
      `${row.head.slice(0, -1)},"created_at":${this.isoOrNull(row.created_at)}` +
      `,"updated_at":${this.isoOrNull(row.updated_at)}` +
      `,"started_at":${this.isoOrNull(row.started_at)},"completed_at":${this.isoOrNull(row.completed_at)}` +
      `,"trace_context":${row.trace_context ?? "null"},"metrics":${row.metrics ?? "{}"}` +
      `,"requires_db":${row.requires_db ? "true" : "false"}}`
    );
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
  addBatch(batch: Pick<JobStatusBatch, "json" | "times">): boolean {
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
      printed.push(`${created},"updated_at":${updated},"started_at":${started},"completed_at":${completed}`);
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

/** `{"jobs": [...], "unrecognised_rap_ids": [...]}` from job lists (JobList.toAscii), as ASCII JSON bytes. */
export function statusBody(jobLists: readonly Uint8Array[], unrecognisedRapIds: readonly string[]): Buffer {
  const parts: Uint8Array[] = [Buffer.from('{"jobs":[')];
  for (const list of jobLists) {
    if (list.length === 0) continue;
    if (parts.length > 1) parts.push(COMMA);
    parts.push(list);
  }
  parts.push(Buffer.from(`],"unrecognised_rap_ids":${asciiJson(JSON.stringify(unrecognisedRapIds))}}`));
  return Buffer.concat(parts);
}
