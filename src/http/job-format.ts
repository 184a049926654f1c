/**
 * The `POST rap/status/` body, written straight from database rows: job-server may ask for thousands of jobs at
 * once, so no intermediate objects are built and JSON columns (trace_context, metrics) are copied as the text they
 * are stored as.
 *
 * Each job has exactly the reference's 15 keys in its order (reference/scenarios.md §0.6): job-server stores every
 * key but rap_id, backend and requires_db, and any other key would break its whole status poll.
 */
import { isAscii } from "node:buffer";
import type { JobStatusRow } from "../db/queries/rap-status.js";
import { isoFromSeconds } from "./iso-time.js";
import { asciiJson } from "./json.js";

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

/**
 * Accumulates `{"jobs": [...], "unrecognised_rap_ids": [...]}` batch by batch as bytes, so that only one batch of
 * rows and strings is alive at a time; the result is ASCII JSON.
 */
export class StatusBody {
  private readonly parts: Buffer[] = [Buffer.from('{"jobs":[')];
  private empty = true;

  addJobs(rows: readonly JobStatusRow[]): void {
    if (rows.length === 0) return;
    const text = rows.map(jobJson).join(",");
    this.parts.push(Buffer.from(this.empty ? text : `,${text}`));
    this.empty = false;
  }

  finish(unrecognisedRapIds: readonly string[]): Buffer {
    this.parts.push(Buffer.from(`],"unrecognised_rap_ids":${JSON.stringify(unrecognisedRapIds)}}`));
    const body = Buffer.concat(this.parts);
    // Values are written as UTF-8; the rare body with non-ASCII text is escaped as a whole.
    return isAscii(body) ? body : Buffer.from(asciiJson(body.toString("utf8")), "latin1");
  }
}
