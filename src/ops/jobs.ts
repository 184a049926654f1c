/**
 * `rap jobs` and `rap cancel`: what runs, and stopping it, for an operator at the controller's machine (the same
 * database the API serves), so nobody needs curl and a token to see a RAP's jobs.
 */
import type { JobFilter, JobStore } from "../db/storage.js";
import { type Clock, nowSeconds, systemClock } from "../domain/clock.js";
import type { Job } from "../domain/job.js";
import { isActiveState } from "../domain/status.js";
import { type CancelOutcome, cancelActions } from "../jobs/cancel.js";
import { isoOrNullFromUnixSeconds } from "../python/datetime.js";

export interface JobListing {
  /** Newest first. */
  jobs: Job[];
  /** More jobs match than were listed. */
  more: boolean;
}

export async function listJobs(jobs: JobStore, filter: JobFilter): Promise<JobListing> {
  const found = await jobs.list({ ...filter, limit: filter.limit + 1 });
  return { jobs: found.slice(0, filter.limit), more: found.length > filter.limit };
}

/** Status messages are cut to this many characters in the table (`--json` has them whole). */
const MESSAGE_WIDTH = 60;

const COLUMNS: ReadonlyArray<readonly [string, (job: Job) => string]> = [
  ["JOB", (job) => job.id],
  ["RAP", (job) => job.rapId],
  ["BACKEND", (job) => job.backend],
  ["WORKSPACE", (job) => job.workspace],
  ["ACTION", (job) => job.action],
  ["STATE", state],
  ["CODE", (job) => job.statusCode],
  ["UPDATED", (job) => shownTime(job.updatedAt)],
  ["MESSAGE", (job) => shorten(job.statusMessage ?? "")],
];

/** A stored time as ISO text; a bad one (not a time Python could print) is shown, never thrown on. */
export function shownTime(seconds: number): string {
  return isoOrNullFromUnixSeconds(seconds) ?? `(not a time: ${seconds})`;
}

/** A job marked cancelled that the scheduler has not stopped yet shows as `cancelling`. */
function state(job: Job): string {
  return job.cancelled && isActiveState(job.state) ? "cancelling" : job.state;
}

function shorten(text: string): string {
  const line = text.replace(/\s+/g, " ");
  return line.length <= MESSAGE_WIDTH ? line : `${line.slice(0, MESSAGE_WIDTH - 1)}…`;
}

/** An aligned table, one job a line, with a header; the last column is not padded. */
export function formatJobTable(jobs: readonly Job[]): string {
  const rows = [COLUMNS.map(([title]) => title), ...jobs.map((job) => COLUMNS.map(([, cell]) => cell(job)))];
  const widths = COLUMNS.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n")
    .concat("\n");
}

/**
 * `rap cancel RAP_ID [ACTION...]`: as `POST rap/cancel/` on every configured backend; with no actions, every
 * unfinished job of the RAP. Returns what to print and whether it was refused.
 */
export async function cancelFromCli(
  jobs: JobStore,
  rapId: string,
  actions: readonly string[],
  backends: readonly string[],
  clock: Clock = systemClock,
): Promise<{ ok: boolean; message: string }> {
  const outcome: CancelOutcome = await cancelActions(
    jobs,
    rapId,
    actions.length > 0 ? actions : "all",
    backends,
    nowSeconds(clock),
  );
  switch (outcome.kind) {
    case "rap-not-found":
      return { ok: false, message: `No jobs found for rap_id ${rapId}` };
    case "actions-not-found":
      return {
        ok: false,
        message: `RAP ${rapId} has no job for ${outcome.notFound.join(", ")}: nothing was cancelled`,
      };
    case "cancelled":
      return {
        ok: true,
        message:
          outcome.jobs === 0
            ? `Nothing to cancel: the jobs of RAP ${rapId}${actions.length > 0 ? " for these actions" : ""} have all finished`
            : `Cancelled ${outcome.jobs} unfinished job(s) of RAP ${rapId}: the scheduler stops them on its next pass`,
      };
    default: {
      const unknown: never = outcome;
      throw new Error(`unknown cancel outcome ${JSON.stringify(unknown)}`);
    }
  }
}
