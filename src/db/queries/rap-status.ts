import { sql } from "kysely";
import type { Db } from "../index.js";
import { chunked } from "../json.js";

const BATCH_SIZE = 100;

/** What `POST rap/status/` shows of a job, JSON columns left as text. */
export interface JobStatusRow {
  rap_id: string;
  backend: string;
  /**
   * The job's first eight fields in the RAP API, as JSON object text with the API's keys in its order (identifier,
   * rap_id, backend, action, run_command, status, status_code, status_message — a missing message as ''). Built
   * by the database: one value per row instead of eight is a quarter off the endpoint's time for large answers.
   */
  head: string;
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
 * The status rows of every job of these RAPs on these backends, in any state, with each job's latest metrics: one
 * statement per BATCH_SIZE rap ids, whatever their number of jobs (DESIGN DECISIONS 11), yielded batch by batch so
 * a caller can turn each into output before the next is read (job-server asks for thousands of jobs at once, and
 * holding every row at the same time costs more in garbage collection than the query itself). The metrics are
 * extracted by the database, so no results document is parsed in JavaScript. SQLite dialect: PostgreSQL will need
 * json_build_object for `head` and `(agent_results::json -> 'job_metrics')::text` for the metrics.
 */
export async function* jobStatusBatches(
  db: Db,
  rapIds: readonly string[],
  backends: readonly string[],
): AsyncGenerator<JobStatusRow[]> {
  if (rapIds.length === 0 || backends.length === 0) return;
  const visible = new Set(backends);
  for (const batch of chunked([...new Set(rapIds)], BATCH_SIZE)) {
    const rows = await db
      .selectFrom("job")
      .select([
        "job.rap_id",
        "job.backend",
        sql<string>`json_object(
          'identifier', job.id, 'rap_id', job.rap_id, 'backend', job.backend, 'action', job.action,
          'run_command', job.run_command, 'status', job.state, 'status_code', job.status_code,
          'status_message', coalesce(job.status_message, '')
        )`.as("head"),
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
      .execute();
    // The backend is filtered here rather than in SQL: given both lists, SQLite prefers the backend index and
    // reads every job of the backend. A RAP's jobs are all on one backend, so this discards little.
    yield rows.filter((row) => visible.has(row.backend));
  }
}
