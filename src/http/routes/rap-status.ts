/** `POST rap/status/`: every job of the requested RAPs on the token's backends (reference §7.9). */
import type { Db } from "../../db/index.js";
import { jobStatusRows } from "../../db/queries/rap-status.js";
import { statusBody } from "../job-format.js";

/**
 * The response body as JSON text. Ids with no job on the token's backends are "unrecognised", whether they exist
 * elsewhere or not; they are listed once each, in request order.
 */
export async function rapStatus(
  db: Db,
  rapIds: readonly string[],
  backends: readonly string[],
): Promise<string> {
  const rows = await jobStatusRows(db, rapIds, backends);
  const seen = new Set<string>();
  for (const row of rows) seen.add(row.rap_id);
  const unrecognised = [...new Set(rapIds)].filter((id) => !seen.has(id));
  return statusBody(rows, unrecognised);
}
