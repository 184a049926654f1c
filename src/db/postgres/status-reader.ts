/**
 * The status-reader role (src/db/storage.ts) over PostgreSQL: the same bytes as SQLite's (src/db/sqlite/rap-status.ts).
 * The database writes each job's JSON around a TIME_MARK, and JobList (src/db/status/job-list.ts) prints the times
 * into it, as it does for SQLite's rows. json_build_object is not used: it writes `"key" : value`, with spaces.
 */
import { sql } from "kysely";
import type { Db } from "../index.js";
import { JobList, TIME_MARK } from "../status/job-list.js";
import type { StatusReader } from "../storage.js";

/** A text value as a JSON string (to_json escapes as SQLite's json_object does; non-ASCII is escaped later). */
const str = (column: string) => sql`to_json(${sql.ref(column)}::text)::text`;

// RUNJOB task ids are `{job_id}-{n:03}`: for one job, the longest and then greatest id is the latest task. `json`
// keeps the stored text, so the metrics come out as they were stored (compact, keys in their order).
const latestMetrics = sql<string | null>`(
  select (t.agent_results::json -> 'job_metrics')::text from tasks t
  where t.job_id = job.id and t.type = 'runjob'
  order by length(t.id) desc, t.id collate "C" desc limit 1
)`;

/** The job's JSON: the API's 15 keys in its order (reference/scenarios.md §0.6), TIME_MARK for the four times. */
const jobJsonSql = sql<string>`'{"identifier":' || ${str("job.id")} || ',"rap_id":' || ${str("job.rap_id")}
  || ',"backend":' || ${str("job.backend")} || ',"action":' || ${str("job.action")}
  || ',"run_command":' || ${str("job.run_command")} || ',"status":' || ${str("job.state")}
  || ',"status_code":' || ${str("job.status_code")}
  || ',"status_message":' || to_json(coalesce(job.status_message, ''))::text
  || ',"created_at":' || chr(${TIME_MARK})
  || ',"trace_context":' || coalesce(job.trace_context, 'null')
  || ',"metrics":' || coalesce(${latestMetrics}, '{}')
  || ',"requires_db":' || (case when job.requires_db <> 0 then 'true' else 'false' end) || '}'`;

const timesSql = sql<string>`coalesce(job.created_at::text, 'null') || ',' || coalesce(job.updated_at::text, 'null')
  || ',' || coalesce(job.started_at::text, 'null') || ',' || coalesce(job.completed_at::text, 'null')`;

/**
 * One statement for every rap id, a row per RAP: its jobs' JSON joined by the database (as UTF-8 bytes) and their
 * times as text, for JobList to print the times in (as SQLite's batches: far fewer values for the driver to hand
 * over than a row per job). RAPs in rap id order (bytewise, as SQLite's), each RAP's jobs in insertion order.
 */
export function postgresStatusReader(db: Db): StatusReader {
  return {
    read: async (rapIds, backends) => {
      const list = new JobList();
      if (rapIds.length === 0 || backends.length === 0)
        return [{ json: list.toAscii(), rapIds: [], unreadableTimes: [] }];
      const inRequest = sql<boolean>`job.rap_id = any(${[...rapIds]}::text[]) and job.backend = any(${[...backends]}::text[])`;
      const { rows } = await sql<{ rap_id: string; json: Buffer; times: string }>`select job.rap_id,
          convert_to(string_agg(${jobJsonSql}, ',' order by job.seq), 'UTF8') as json,
          string_agg(${timesSql}, ',' order by job.seq) as times
        from job where ${inRequest}
        group by job.rap_id order by job.rap_id collate "C"`.execute(db);
      const batch = { json: rows.map((row) => row.json), times: rows.map((row) => row.times).join(",") };
      // Times are bigint columns, so always whole seconds: JobList prints every one of them (SQLite may store others).
      if (!list.addBatch(batch)) throw new Error("rap/status: the jobs' times do not match their JSON");
      return [
        {
          json: list.toAscii(),
          rapIds: rows.map((row) => row.rap_id),
          unreadableTimes: [...list.unreadableTimes],
        },
      ];
    },
  };
}
