/** The jobs part of a `POST rap/status/` answer, from the database; runs on the main thread or a status worker. */
import type { Db } from "../../db/index.js";
import { jobStatusBatches } from "../../db/queries/rap-status.js";
import { JobList } from "./job-format.js";

export interface RenderedJobs {
  /** The jobs' JSON objects, comma-separated, as ASCII bytes (JobList.toAscii). */
  json: Uint8Array;
  /** The rap ids that have jobs in `json`. */
  rapIds: string[];
  /** Stored times that could not be shown (shown as null), as stored: for the caller to log (JobList). */
  unreadableTimes: string[];
}

/** The jobs of these RAPs on these backends, in the order of `rapIds`' batches (see jobStatusBatches). */
export async function renderJobs(
  db: Db,
  rapIds: readonly string[],
  backends: readonly string[],
): Promise<RenderedJobs> {
  const list = new JobList();
  const found: string[] = [];
  for await (const batch of jobStatusBatches(db, rapIds, backends)) {
    found.push(...batch.rapIds);
    if (!list.addBatch(batch)) list.addJobs(await batch.rows());
  }
  return { json: list.toAscii(), rapIds: found, unreadableTimes: [...list.unreadableTimes] };
}
