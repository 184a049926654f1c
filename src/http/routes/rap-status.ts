/** `POST rap/status/`: every job of the requested RAPs on the token's backends (reference §7.9). */
import type { StatusReader } from "../../db/storage.js";
import { statusBody } from "../status/body.js";

/**
 * The response body, as ASCII JSON bytes. Jobs come by rap id (sorted), then in creation order, however the work is
 * divided. Ids with no job on the token's backends are "unrecognised", whether they exist elsewhere or not; they
 * are listed once each, in request order.
 */
export async function rapStatus(
  reader: StatusReader,
  rapIds: readonly string[],
  backends: readonly string[],
): Promise<Buffer> {
  const unique = [...new Set(rapIds)];
  const rendered = await reader.read([...unique].sort(), backends);
  const found = new Set(rendered.flatMap((part) => part.rapIds));
  return statusBody(
    rendered.map((part) => part.json),
    unique.filter((id) => !found.has(id)),
  );
}
