/**
 * Dividing the jobs a `POST rap/status/` answer must render (pure): each dialect's status source renders the parts at
 * once, SQLite on worker threads, PostgreSQL on pooled connections, so that a large render is spread over the cores.
 */

/** Fewer jobs than this are rendered in one piece: dividing them costs more than it saves. */
export const DIVIDE_FROM_JOBS = 1000;

/** `ids` in `parts` contiguous runs of as many ids each (within one), fewer when there are fewer ids. */
export function divideJobs(ids: readonly string[], parts: number): string[][] {
  const runs = Math.max(1, Math.min(parts, ids.length));
  return Array.from({ length: runs }, (_, run) =>
    ids.slice(Math.round((ids.length * run) / runs), Math.round((ids.length * (run + 1)) / runs)),
  );
}
