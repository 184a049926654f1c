/**
 * Dividing the jobs a `POST rap/status/` answer must render (pure): each dialect's status source renders the parts at
 * once, SQLite on worker threads, PostgreSQL on pooled connections, so that a large render is spread over the cores.
 */

/** Fewer jobs than this are rendered in one piece: dividing them costs more than it saves. */
export const DIVIDE_FROM_JOBS = 1000;

/** Jobs' `keys` in `parts` contiguous runs of as many each (within one), fewer when there are fewer jobs. */
export function divideJobs(keys: readonly string[], parts: number): string[][] {
  const runs = Math.max(1, Math.min(parts, keys.length));
  return Array.from({ length: runs }, (_, run) =>
    keys.slice(Math.round((keys.length * run) / runs), Math.round((keys.length * (run + 1)) / runs)),
  );
}
