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
import { isoFromSeconds } from "../iso-time.js";
import { asciiJson } from "../json.js";

function isoOrNull(seconds: number | null): string {
  return seconds === null ? "null" : `"${isoFromSeconds(seconds)}"`;
}

function jobJson(row: JobStatusRow): string {
  return (
    `${row.head.slice(0, -1)},"created_at":${isoOrNull(row.created_at)},"updated_at":${isoOrNull(row.updated_at)}` +
    `,"started_at":${isoOrNull(row.started_at)},"completed_at":${isoOrNull(row.completed_at)}` +
    `,"trace_context":${row.trace_context ?? "null"},"metrics":${row.metrics ?? "{}"}` +
    `,"requires_db":${row.requires_db ? "true" : "false"}}`
  );
}

const INTEGER = /^-?\d+$/;

/**
 * A list of jobs as JSON text, batch by batch, kept as bytes so that only one batch of rows and strings is alive at
 * a time: the jobs' objects separated by commas, without the brackets.
 */
export class JobList {
  private readonly parts: Buffer[] = [];
  /** Printed times by their stored text, for this one list: a RAP's jobs share many of their times. */
  private readonly isoTimes = new Map<string, string>();

  addJobs(rows: readonly JobStatusRow[]): void {
    this.append(rows.map(jobJson).join(","));
  }

  /**
   * Adds a batch of jobs written by the database, printing their times; false, adding nothing, when a time is not
   * a whole number of seconds (never written by this code base), which the caller then adds as rows instead.
   */
  addBatch(batch: Pick<JobStatusBatch, "json" | "times">): boolean {
    if (batch.json === "") return true;
    const pieces = batch.json.split(TIME_MARK);
    const times = batch.times.split(",");
    if (pieces.length !== times.length + 1) return false;
    let text = pieces[0]!;
    for (let i = 0; i < times.length; i++) {
      const time = times[i]!;
      if (time === "null") {
        text += `null${pieces[i + 1]}`;
        continue;
      }
      let iso = this.isoTimes.get(time);
      if (iso === undefined) {
        if (!INTEGER.test(time)) return false;
        iso = `"${isoFromSeconds(Number(time))}"`;
        this.isoTimes.set(time, iso);
      }
      text += iso + pieces[i + 1];
    }
    this.append(text);
    return true;
  }

  private append(text: string): void {
    if (text !== "") this.parts.push(Buffer.from(this.parts.length === 0 ? text : `,${text}`));
  }

  /** The list as ASCII JSON (values are written as UTF-8; the rare list with non-ASCII text is escaped whole). */
  toAscii(): Buffer {
    const list = Buffer.concat(this.parts);
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

const COMMA = Buffer.from(",");
