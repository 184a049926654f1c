/**
 * PostgreSQL's status source (src/db/status/cached-reader.ts): the same bytes as SQLite's
 * (src/db/sqlite/rap-status.ts). The database writes each job's JSON around a TIME_MARK, and printJobs
 * (src/db/status/rendered-jobs.ts) prints the times into it, as for SQLite. json_build_object is not used: it writes
 * `"key" : value`, with spaces. DIVIDE_FROM_JOBS jobs or more to print are divided into up to `statements`
 * statements run at once on pooled connections, so that the server writes the JSON on as many cores (SQLite divides
 * between worker threads). */
import { sql } from "kysely";
import type { Db } from "../index.js";
import type { RapStamps, StatusSource } from "../status/cached-reader.js";
import { DIVIDE_FROM_JOBS, divideJobs } from "../status/divide.js";
import {
  JOB_SEPARATOR,
  type PrintedJobs,
  printJobs,
  splitStamps,
  TIME_MARK,
} from "../status/rendered-jobs.js";
import type { ChangeMark } from "../storage.js";
import { changeMark } from "./scheduler-reads.js";

/** A text value as a JSON string (to_json escapes as SQLite's json_object does; non-ASCII is escaped later). */
const str = (column: string) => sql`to_json(${sql.ref(column)}::text)::text`;

// RUNJOB task ids are `{job_id}-{n:03}`: for one job, the longest and then greatest id is the latest task, found
// through idx_tasks__latest_metrics (migration 0002). Its job_metrics column (migration 0006) is the results' metrics
// as they were stored (compact, keys in their order).
const latestMetrics = sql<string | null>`(
  select t.job_metrics from tasks t
  where t.job_id = job.id and t.type = 'runjob'
  order by length(t.id) desc, t.id collate "C" desc limit 1
)`;

/** `key stamp`: the job's id, its key here (src/db/status/cached-reader.ts), and its change_seq. */
const stampSql = sql<string>`job.id || ' ' || coalesce(job.change_seq::text, '')`;

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

/** The stamps of these RAPs' jobs on these backends: a row per RAP, its jobs' stamps joined in insertion order. */
async function readStamps(
  db: Db,
  rapIds: readonly string[],
  backends: readonly string[],
): Promise<RapStamps[]> {
  const { rows } = await sql<{ rap_id: string; stamps: string }>`select job.rap_id,
      string_agg(${stampSql}, ',' order by job.seq) as stamps
    from job where job.rap_id = any(${[...rapIds]}::text[]) and job.backend = any(${[...backends]}::text[])
    group by job.rap_id`.execute(db);
  return rows.map((row) => ({ rapId: row.rap_id, ...splitStamps(row.stamps) }));
}

/**
 * The ids of the jobs whose RUNJOB tasks were written from `mark` on (idx_tasks__change_seq; with `distinct`, the
 * planner would rather scan the job_id index for every task).
 */
async function jobsWithTasksWrittenSince(db: Db, mark: ChangeMark): Promise<string[]> {
  const { rows } = await sql<{ job_id: string }>`select job_id from tasks
    where change_seq >= ${mark} and type = 'runjob'`.execute(db);
  return [...new Set(rows.map((row) => row.job_id))];
}

/**
 * The jobs of these ids printed, from one statement and one row: their JSON, times and stamps each joined by the
 * database in the same order (far fewer values for the driver to hand over than a row per job). The JSON comes as
 * text, not bytea, whose hex form would double what crosses the socket and what `pg` decodes. Times are bigint
 * columns, so always whole seconds: printJobs prints every one of them.
 */
async function printed(db: Db, ids: readonly string[]): Promise<PrintedJobs> {
  const { rows } = await sql<{ json: string | null; times: string | null; stamps: string | null }>`select
      string_agg(${jobJsonSql}, chr(${JOB_SEPARATOR}) order by job.seq) as json,
      string_agg(${timesSql}, ',' order by job.seq) as times,
      string_agg(${stampSql}, ',' order by job.seq) as stamps
    from job where job.id = any(${[...ids]}::text[])`.execute(db);
  const row = rows[0];
  const result = printJobs({
    json: Buffer.from(row?.json ?? ""),
    times: row?.times ?? "",
    stamps: row?.stamps ?? "",
  });
  if ("printed" in result) return result.printed;
  throw new Error(`rap/status: the times of job ${result.inexact[0]} are not whole seconds`);
}

/** A status source on `db`, dividing a render of `divideFromJobs` jobs or more into up to `statements` statements. */
export function postgresStatusSource(
  db: Db,
  statements = 1,
  divideFromJobs = DIVIDE_FROM_JOBS,
): StatusSource {
  return {
    changeMark: () => changeMark(db),
    jobsWithTasksWrittenSince: (mark) => jobsWithTasksWrittenSince(db, mark),
    stamps: (rapIds, backends) => readStamps(db, rapIds, backends),
    render: (ids) =>
      Promise.all(
        (ids.length < divideFromJobs ? [ids] : divideJobs(ids, statements)).map((share) =>
          printed(db, share),
        ),
      ),
  };
}
