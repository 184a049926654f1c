/**
 * The status-reader role (src/db/storage.ts) over SQLite. Small requests are answered on the calling thread;
 * requests for WORKERS_FROM_RAP_IDS RAPs or more are divided between worker threads with their own read connections
 * (./status-workers.ts), so a large answer neither holds up the main thread nor waits for one core.
 */
import type { Db } from "../index.js";
import type { StatusReader } from "../storage.js";
import { renderJobs } from "./status-render.js";
import type { StatusWorkers } from "./status-workers.js";

/** Fewer rap ids than this are answered on the main thread: the work is smaller than handing it to workers. */
const WORKERS_FROM_RAP_IDS = 16;

/** `items` in `parts` contiguous runs of nearly equal length. */
function split<T>(items: readonly T[], parts: number): T[][] {
  const size = Math.ceil(items.length / parts);
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) =>
    items.slice(i * size, (i + 1) * size),
  );
}

/** A status reader on `db`, dividing large requests between `workers` if given (the caller closes them). */
export function sqliteStatusReader(db: Db, workers?: StatusWorkers): StatusReader {
  return {
    read: async (rapIds, backends) => {
      if (workers && rapIds.length >= WORKERS_FROM_RAP_IDS) {
        return Promise.all(
          split(rapIds, workers.size).map((share, index) => workers.render(index, share, backends)),
        );
      }
      return [await renderJobs(db, rapIds, backends)];
    },
  };
}
