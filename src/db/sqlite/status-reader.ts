/**
 * The status-reader role (src/db/storage.ts) over SQLite. A request for DIVIDE_FROM_JOBS jobs or more (an index-only
 * count first) is divided by its RAPs' job counts between worker threads with their own read connections
 * (./status-workers.ts), so a large answer neither holds up the main thread nor waits for one core, whether it is
 * a thousand small RAPs or five of two thousand jobs each; smaller requests are answered on the calling thread.
 */
import { sql } from "kysely";
import { type Db, readDirectly } from "../index.js";
import { chunked } from "../json.js";
import { DIVIDE_FROM_JOBS, divideByJobs, totalJobs } from "../status/divide.js";
import type { StatusReader } from "../storage.js";
import { renderJobs } from "./status-render.js";
import type { StatusWorkers } from "./status-workers.js";

/** How many jobs each of these RAPs has (on any backend), counted from the rap_id index alone. */
async function jobCounts(db: Db, rapIds: readonly string[]): Promise<Map<string, number>> {
  const jobs = new Map<string, number>();
  for (const batch of chunked(rapIds)) {
    const query = sql<{ rap_id: string; jobs: number }>`select rap_id, count(*) as jobs from job
      where rap_id in (${sql.join(batch)}) group by rap_id`.compile(db);
    const rows = readDirectly(db, query) ?? (await db.executeQuery(query)).rows;
    for (const row of rows) jobs.set(row.rap_id, row.jobs);
  }
  return jobs;
}

/** A status reader on `db`, dividing large requests between `workers` if given (the caller closes them). */
export function sqliteStatusReader(
  db: Db,
  workers?: StatusWorkers,
  divideFromJobs = DIVIDE_FROM_JOBS,
): StatusReader {
  return {
    read: async (rapIds, backends) => {
      if (workers && rapIds.length >= 2 && backends.length > 0) {
        const jobs = await jobCounts(db, rapIds);
        if (totalJobs(jobs) >= divideFromJobs) {
          return Promise.all(
            divideByJobs(rapIds, jobs, workers.size).map((share, index) =>
              workers.render(index, share, backends),
            ),
          );
        }
      }
      return [await renderJobs(db, rapIds, backends)];
    },
  };
}
