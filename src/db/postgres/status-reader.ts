/**
 * The status-reader role (src/db/storage.ts) over PostgreSQL: the same bytes as SQLite's (src/db/sqlite/rap-status.ts).
 * The database writes each job's JSON around a TIME_MARK, and JobList (src/db/status/job-list.ts) prints the times
 * into it, as it does for SQLite's rows. json_build_object is not used: it writes `"key" : value`, with spaces.
 */
import { sql } from "kysely";
import type { Db } from "../index.js";
import { DIVIDE_FROM_JOBS, divideByJobs, totalJobs } from "../status/divide.js";
import { JobList, TIME_MARK } from "../status/job-list.js";
import type { RenderedJobs, StatusReader } from "../storage.js";

/** A text value as a JSON string (to_json escapes as SQLite's json_object does; non-ASCII is escaped later). */
const str = (column: string) => sql`to_json(${sql.ref(column)}::text)::text`;

// RUNJOB task ids are `{job_id}-{n:03}`: for one job, the longest and then greatest id is the latest task. Its
// job_metrics column (migration 0006) is the results' metrics as they were stored (compact, keys in their order).
const latestMetrics = sql<string | null>`(
  select t.job_metrics from tasks t
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

/** Bytewise order of rap ids, as SQLite's: the database sorts nothing (sorting a few rows of megabytes spilled to disk). */
const byRapId = (a: { rap_id: string }, b: { rap_id: string }) =>
  Buffer.compare(Buffer.from(a.rap_id), Buffer.from(b.rap_id));

/**
 * One statement for these rap ids, a row per RAP: its jobs' JSON joined by the database and their times as text, for
 * JobList to print the times in (as SQLite's batches: far fewer values for the driver to hand over than a row per
 * job). RAPs in rap id order (bytewise, as SQLite's), each RAP's jobs in insertion order. The JSON comes as text,
 * not bytea, whose hex form would double what crosses the socket and what `pg` decodes.
 */
async function readJobs(
  db: Db,
  rapIds: readonly string[],
  backends: readonly string[],
): Promise<RenderedJobs> {
  const list = new JobList();
  if (rapIds.length === 0 || backends.length === 0)
    return { json: list.toAscii(), rapIds: [], unreadableTimes: [] };
  const inRequest = sql<boolean>`job.rap_id = any(${[...rapIds]}::text[]) and job.backend = any(${[...backends]}::text[])`;
  const { rows } = await sql<{ rap_id: string; json: string; times: string }>`select job.rap_id,
      string_agg(${jobJsonSql}, ',' order by job.seq) as json,
      string_agg(${timesSql}, ',' order by job.seq) as times
    from job where ${inRequest}
    group by job.rap_id`.execute(db);
  rows.sort(byRapId);
  const batch = {
    json: rows.map((row) => Buffer.from(row.json)),
    times: rows.map((row) => row.times).join(","),
  };
  // Times are bigint columns, so always whole seconds: JobList prints every one of them (SQLite may store others).
  if (!list.addBatch(batch)) throw new Error("rap/status: the jobs' times do not match their JSON");
  return {
    json: list.toAscii(),
    rapIds: rows.map((row) => row.rap_id),
    unreadableTimes: [...list.unreadableTimes],
  };
}

/** How many jobs each of these RAPs has (on any backend): an index-only count, to divide a request by. */
async function jobCounts(db: Db, rapIds: readonly string[]): Promise<Map<string, number>> {
  const { rows } = await sql<{ rap_id: string; jobs: number }>`select rap_id, count(*)::int as jobs from job
    where rap_id = any(${[...rapIds]}::text[]) group by rap_id`.execute(db);
  return new Map(rows.map((row) => [row.rap_id, row.jobs]));
}

/**
 * A status reader on `db`. A request for `divideFromJobs` jobs or more is divided by its RAPs' job counts into up to
 * `statements` statements run at once on pooled connections, so that the server writes the JSON on as many cores
 * (SQLite divides between worker threads); the count costs one round trip of an index-only scan.
 */
export function postgresStatusReader(
  db: Db,
  statements = 1,
  divideFromJobs = DIVIDE_FROM_JOBS,
): StatusReader {
  return {
    read: async (rapIds, backends) => {
      if (statements <= 1 || rapIds.length < 2 || backends.length === 0)
        return [await readJobs(db, rapIds, backends)];
      const jobs = await jobCounts(db, rapIds);
      if (totalJobs(jobs) < divideFromJobs) return [await readJobs(db, rapIds, backends)];
      return Promise.all(
        divideByJobs(rapIds, jobs, statements).map((share) => readJobs(db, share, backends)),
      );
    },
  };
}
