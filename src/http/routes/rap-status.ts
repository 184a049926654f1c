/** `POST rap/status/`: every job of the requested RAPs on the token's backends (reference §7.9). */
import type { Db } from "../../db/index.js";
import { jobStatusBatches } from "../../db/queries/rap-status.js";
import { StatusBody } from "../job-format.js";

/**
 * The response body, as ASCII JSON bytes. Ids with no job on the token's backends are "unrecognised", whether they
 * exist elsewhere or not; they are listed once each, in request order.
 */
export async function rapStatus(
  db: Db,
  rapIds: readonly string[],
  backends: readonly string[],
): Promise<Buffer> {
  const body = new StatusBody();
  const seen = new Set<string>();
  for await (const batch of jobStatusBatches(db, rapIds, backends)) {
    for (const rapId of batch.rapIds) seen.add(rapId);
    if (!body.addBatch(batch)) body.addJobs(await batch.rows());
  }
  return body.finish([...new Set(rapIds)].filter((id) => !seen.has(id)));
}
