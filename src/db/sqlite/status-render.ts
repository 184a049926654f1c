/** The jobs part of a `POST rap/status/` answer, from the database; runs on the main thread or a status worker. */
import type { Db } from "../index.js";
import { JobList } from "../status/job-list.js";
import type { RenderedJobs } from "../storage.js";
import { jobStatusBatches } from "./rap-status.js";

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
