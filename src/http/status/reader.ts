/**
 * The status-reader role: the jobs part of `POST rap/status/` answers, read and rendered in one place. Small
 * requests are answered on the calling thread; requests for WORKERS_FROM_RAP_IDS RAPs or more are divided between
 * worker threads with their own read connections (src/http/status/workers.ts), so a large answer neither holds up
 * the main thread nor waits for one core.
 */
import type { Db } from "../../db/index.js";
import { type RenderedJobs, renderJobs } from "./render.js";
import type { StatusWorkers } from "./workers.js";

/** Fewer rap ids than this are answered on the main thread: the work is smaller than handing it to workers. */
const WORKERS_FROM_RAP_IDS = 16;

export interface StatusReader {
  /** The jobs of these RAPs (unique ids, sorted) on these backends, in parts in rap id order. */
  read(rapIds: readonly string[], backends: readonly string[]): Promise<RenderedJobs[]>;
  close(): Promise<void>;
}

/** `items` in `parts` contiguous runs of nearly equal length. */
function split<T>(items: readonly T[], parts: number): T[][] {
  const size = Math.ceil(items.length / parts);
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) =>
    items.slice(i * size, (i + 1) * size),
  );
}

export function statusReader(db: Db, workers?: StatusWorkers): StatusReader {
  return {
    read: async (rapIds, backends) => {
      if (workers && rapIds.length >= WORKERS_FROM_RAP_IDS) {
        return Promise.all(
          split(rapIds, workers.size).map((share, index) => workers.render(index, share, backends)),
        );
      }
      return [await renderJobs(db, rapIds, backends)];
    },
    close: async () => workers?.close(),
  };
}
