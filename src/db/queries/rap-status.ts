import { sql } from "kysely";
import type { Db } from "../index.js";
import { chunked } from "../json.js";

/** What `POST rap/status/` shows of a job: its columns as stored, JSON columns left as text. */
export interface JobStatusRow {
  id: string;
  rap_id: string;
  backend: string;
  action: string;
  run_command: string;
  state: string;
  status_code: string;
  status_message: string | null;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  completed_at: number | null;
  /** JSON text, or null. */
  trace_context: string | null;
  requires_db: number;
  /**
   * JSON text of `job_metrics` in the results of the job's latest RUNJOB task (the highest task number); null
   * when there is no such task, it has no results, or the results have no `job_metrics` key.
   */
  metrics: string | null;
}

/**
 * The status rows of every job of these RAPs on these backends, in any state, with each job's latest metrics, in
 * one statement per 500 rap ids: the cost does not grow with the number of jobs (DESIGN DECISIONS 11). The metrics
 * are extracted by the database (SQLite's `->`), so no results document is parsed in JavaScript.
 */
export async function jobStatusRows(
  db: Db,
  rapIds: readonly string[],
  backends: readonly string[],
): Promise<JobStatusRow[]> {
  if (rapIds.length === 0 || backends.length === 0) return [];
  const rows: JobStatusRow[] = [];
  for (const batch of chunked([...new Set(rapIds)])) {
    const part = await db
      .selectFrom("job")
      .select([
        "job.id",
        "job.rap_id",
        "job.backend",
        "job.action",
        "job.run_command",
        "job.state",
        "job.status_code",
        "job.status_message",
        "job.created_at",
        "job.updated_at",
        "job.started_at",
        "job.completed_at",
        "job.trace_context",
        "job.requires_db",
        // RUNJOB task ids are `{job_id}-{n:03}`: for one job, the longest and then greatest id is the latest task.
        sql<string | null>`(
          select t.agent_results -> '$.job_metrics' from tasks t
          where t.job_id = job.id and t.type = 'runjob'
          order by length(t.id) desc, t.id desc limit 1
        )`.as("metrics"),
      ])
      .where("job.rap_id", "in", batch)
      .where("job.backend", "in", backends)
      .execute();
    for (const row of part) rows.push(row);
  }
  return rows;
}
