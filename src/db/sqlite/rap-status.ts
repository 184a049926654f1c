import { sql } from "kysely";
import { type Db, readDirectly } from "../index.js";
import { chunked } from "../json.js";
import type { JobListBatch, JobStatusRow } from "../status/job-list.js";

const BATCH_SIZE = 100;

/** One batch of `jobStatusBatches`. */
export interface JobStatusBatch extends JobListBatch {
  /**
   * Per RAP with jobs, its jobs as JSON objects, comma-separated, in UTF-8 bytes, written by the database: the API's
   * 15 keys in its order (reference/scenarios.md §0.6), except that in place of the four times (the value of
   * created_at up to that of completed_at) there is one TIME_MARK, for the caller to print `timesJson` there.
   * trace_context and metrics are copied as the text they are stored as. Bytes, not text: the caller splices them
   * without decoding them.
   */
  json: Buffer[];
  /** The jobs' four times each, in the order of `json`, comma-separated: numbers as SQLite prints them, or null. */
  times: string;
  /** The rap ids that have jobs in `json`, once each. */
  rapIds: string[];
  /**
   * The same jobs read again one row each, their times as numbers: for a caller that cannot print a time from its
   * text in `times` (not whole seconds: SQLite prints a fractional time with too few digits to read it back).
   */
  rows(): Promise<JobStatusRow[]>;
}

// RUNJOB task ids are `{job_id}-{n:03}`: for one job, the longest and then greatest id is the latest task. The
// expression index idx_tasks__latest_metrics (migration 0002) holds all of this, so no task row is read.
const latestMetrics = sql<string | null>`(
  select t.agent_results -> '$.job_metrics' from tasks t
  where t.job_id = job.id and t.type = 'runjob'
  order by length(t.id) desc, t.id desc limit 1
)`;

/**
 * The job's JSON: the one place that writes the 15 keys of a job in `POST rap/status/` (reference/scenarios.md
 * §0.6), with `timesJson` for the four times. job-server stores every key but rap_id, backend and requires_db, and
 * any other key would break its whole status poll. A missing message is ''.
 */
const jobJsonSql = sql<string>`rtrim(json_object(
    'identifier', job.id, 'rap_id', job.rap_id, 'backend', job.backend, 'action', job.action,
    'run_command', job.run_command, 'status', job.state, 'status_code', job.status_code,
    'status_message', coalesce(job.status_message, '')
  ), '}')
  || ',"created_at":' || char(1)
  || ',"trace_context":' || coalesce(job.trace_context, 'null')
  || ',"metrics":' || coalesce(${latestMetrics}, '{}')
  || ',"requires_db":' || iif(job.requires_db, 'true', 'false') || '}'`;

const timesSql = sql<string>`coalesce(job.created_at, 'null') || ',' || coalesce(job.updated_at, 'null')
  || ',' || coalesce(job.started_at, 'null') || ',' || coalesce(job.completed_at, 'null')`;

/**
 * The jobs of these RAPs on these backends, in any state, with each job's latest metrics: one statement per
 * BATCH_SIZE rap ids, whatever their number of jobs (DESIGN DECISIONS 11), yielded batch by batch so a caller can
 * turn each into output before the next is read (job-server asks for thousands of jobs at once).
 *
 * The database writes each job's JSON and joins a RAP's jobs into one value: a row per RAP rather than per job,
 * several times faster (better-sqlite3 spends about as long on each row it hands over as SQLite does reading it).
 * Times are left for JavaScript to print: SQLite's date functions take longer than isoFromUnixSeconds.
 * Jobs come in the order a plain scan of the rap_id index gives: rap id, then rowid, which is `seq` (migration
 * 0003), so insertion order. Saying `order by job.seq` in group_concat would cost half as much again, for the order
 * the index gives already; PostgreSQL's string_agg will need it. The metrics are
 * extracted by the database, so no results document is parsed in JavaScript. The backend is filtered with a unary
 * `+`: given both lists, SQLite would otherwise prefer the backend index and read every job of the backend.
 */
export async function* jobStatusBatches(
  db: Db,
  rapIds: readonly string[],
  backends: readonly string[],
): AsyncGenerator<JobStatusBatch> {
  if (rapIds.length === 0 || backends.length === 0) return;
  for (const batch of chunked([...new Set(rapIds)], BATCH_SIZE)) {
    const query = sql<{ rap_id: string; json: Buffer; times: string }>`select job.rap_id,
        cast(group_concat(${jobJsonSql}, ',') as blob) as json, group_concat(${timesSql}, ',') as times
      from job
      where job.rap_id in (${sql.join(batch)}) and +job.backend in (${sql.join(backends)})
      group by job.rap_id`.compile(db);
    const rows = readDirectly(db, query) ?? (await db.executeQuery(query)).rows;
    yield {
      json: rows.map((row) => row.json),
      times: rows.map((row) => row.times).join(","),
      rapIds: rows.map((row) => row.rap_id),
      rows: () => statusRows(db, batch, backends),
    };
  }
}

/** The batch's jobs one row each (the rare batch whose times `jobStatusBatches` cannot give as text). */
async function statusRows(
  db: Db,
  batch: readonly string[],
  backends: readonly string[],
): Promise<JobStatusRow[]> {
  return db
    .selectFrom("job")
    .select([
      "job.rap_id",
      jobJsonSql.as("json"),
      "job.created_at",
      "job.updated_at",
      "job.started_at",
      "job.completed_at",
    ])
    .where("job.rap_id", "in", batch)
    .where(sql<boolean>`+job.backend in (${sql.join(backends)})`)
    .orderBy("job.rap_id")
    .orderBy("job.seq")
    .execute();
}
