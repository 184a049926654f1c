/**
 * Dividing a large `POST rap/status/` request by its RAPs' job counts (pure): each dialect's status reader reads the
 * runs at once, SQLite on worker threads, PostgreSQL on pooled connections, so a few RAPs of thousands of jobs are
 * spread over the cores as well as many small RAPs are.
 */

/** Fewer jobs than this are read in one piece: dividing them costs more than it saves. */
export const DIVIDE_FROM_JOBS = 1000;

/** The RAPs (in order) in at most `parts` contiguous runs of about as many jobs each; RAPs without jobs go along. */
export function divideByJobs(
  rapIds: readonly string[],
  jobs: ReadonlyMap<string, number>,
  parts: number,
): string[][] {
  let total = 0;
  for (const id of rapIds) total += jobs.get(id) ?? 0;
  const runs: string[][] = [[]];
  let done = 0;
  for (const id of rapIds) {
    if (runs.length < parts && runs.at(-1)!.length > 0 && done >= (total * runs.length) / parts)
      runs.push([]);
    runs.at(-1)!.push(id);
    done += jobs.get(id) ?? 0;
  }
  return runs;
}

/** The jobs counted, in all. */
export function totalJobs(jobs: ReadonlyMap<string, number>): number {
  let total = 0;
  for (const count of jobs.values()) total += count;
  return total;
}
