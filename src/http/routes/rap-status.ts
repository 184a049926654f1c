/** `POST rap/status/`: every job of the requested RAPs on the token's backends (reference §7.9). */
import type { Db } from "../../db/index.js";
import { statusBody } from "../status/job-format.js";
import { type RenderedJobs, renderJobs } from "../status/render.js";
import type { StatusWorkers } from "../status/workers.js";

/** Fewer rap ids than this are answered on the main thread: the work is smaller than handing it to workers. */
const WORKERS_FROM_RAP_IDS = 16;

/** `items` in `parts` contiguous runs of nearly equal length. */
function split<T>(items: readonly T[], parts: number): T[][] {
  const size = Math.ceil(items.length / parts);
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) =>
    items.slice(i * size, (i + 1) * size),
  );
}

/**
 * The response body, as ASCII JSON bytes. Jobs come by rap id (sorted), then in creation order, however the work is
 * divided. Ids with no job on the token's backends are "unrecognised", whether they exist elsewhere or not; they
 * are listed once each, in request order.
 */
export async function rapStatus(
  db: Db,
  rapIds: readonly string[],
  backends: readonly string[],
  workers?: StatusWorkers,
): Promise<Buffer> {
  const unique = [...new Set(rapIds)];
  const sorted = [...unique].sort();
  let rendered: RenderedJobs[];
  if (workers && sorted.length >= WORKERS_FROM_RAP_IDS) {
    rendered = await Promise.all(
      split(sorted, workers.size).map((share, index) => workers.render(index, share, backends)),
    );
  } else {
    rendered = [await renderJobs(db, sorted, backends)];
  }
  const found = new Set(rendered.flatMap((part) => part.rapIds));
  return statusBody(
    rendered.map((part) => part.json),
    unique.filter((id) => !found.has(id)),
  );
}
