/**
 * The statements behind SQLite's status source (./status-source.ts): the stamps of the requested RAPs' jobs, and the
 * JSON of chosen jobs (src/db/status/rendered-jobs.ts says what the database writes and why).
 */
import { sql } from "kysely";
import { type Db, readDirectly } from "../index.js";
import { chunked } from "../json.js";
import type { RapStamps } from "../status/cached-reader.js";
import { type ExactTimes, type RenderedBatch, splitStamps } from "../status/rendered-jobs.js";
import type { ChangeMark } from "../storage.js";

const RAPS_PER_STATEMENT = 100;

// RUNJOB task ids are `{job_id}-{n:03}`: for one job, the longest and then greatest id is the latest task. The index
// idx_tasks__latest_metrics (migration 0002) finds it, and holds its metrics too, so that no task row is read for them.
const latestMetrics = sql<string | null>`(
  select t.agent_results -> '$.job_metrics' from tasks t
  where t.job_id = job.id and t.type = 'runjob'
  order by length(t.id) desc, t.id desc limit 1
)`;

/**
 * `key stamp`: the job's `seq`, its key here (src/db/status/cached-reader.ts: the rowid, found without an index),
 * and its change_seq.
 */
const stampSql = sql<string>`job.seq || ' ' || coalesce(job.change_seq, '')`;

/** `(select value from json_each(?))` of these keys, as numbers: compared with the rowid as they are. */
const anyKey = (keys: readonly string[]) =>
  sql<number>`(select value from json_each(${JSON.stringify(keys.map(Number))}))`;

/**
 * The job's JSON: the one place that writes the 15 keys of a job in `POST rap/status/` (reference/scenarios.md
 * §0.6), with TIME_MARK (char(1)) for the four times. job-server stores every key but rap_id, backend and
 * requires_db, and any other key would break its whole status poll. A missing message is ''.
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
 * The stamps of these RAPs' jobs on these backends: a row per RAP, its jobs' stamps joined by the database (a row
 * per job costs better-sqlite3 about as long again as reading it). Jobs come in the order a plain scan of the rap_id
 * index gives: rap id, then rowid, which is `seq` (migration 0003), so insertion order (`order by` inside
 * group_concat would cost half as much again, for that same order). The backend is filtered with a unary `+`:
 * given both lists, SQLite would otherwise prefer the backend index and read every job of the backend.
 */
export async function readStamps(
  db: Db,
  rapIds: readonly string[],
  backends: readonly string[],
): Promise<RapStamps[]> {
  const raps: RapStamps[] = [];
  for (const batch of chunked(rapIds, RAPS_PER_STATEMENT)) {
    const query = sql<{
      rap_id: string;
      stamps: string;
    }>`select job.rap_id, group_concat(${stampSql}, ',') as stamps
      from job where job.rap_id in (${sql.join(batch)}) and +job.backend in (${sql.join(backends)})
      group by job.rap_id`.compile(db);
    const rows = readDirectly(db, query) ?? (await db.executeQuery(query)).rows;
    for (const row of rows) raps.push({ rapId: row.rap_id, ...splitStamps(row.stamps) });
  }
  return raps;
}

/** The JSON, times and stamps of the jobs of these keys, in one statement (one row: the three joined alike). */
export async function renderBatch(db: Db, keys: readonly string[]): Promise<RenderedBatch> {
  const query = sql<{ json: Buffer | null; times: string | null; stamps: string | null }>`select
      cast(group_concat(${jobJsonSql}, char(2)) as blob) as json,
      group_concat(${timesSql}, ',') as times, group_concat(${stampSql}, ',') as stamps
    from job where job.seq in ${anyKey(keys)}`.compile(db);
  const [row] = readDirectly(db, query) ?? (await db.executeQuery(query)).rows;
  return { json: row?.json ?? Buffer.alloc(0), times: row?.times ?? "", stamps: row?.stamps ?? "" };
}

/**
 * The keys of the jobs whose RUNJOB tasks were written from `mark` on (idx_tasks__change_seq; with `distinct`, the
 * planner would rather scan the job_id index for every task).
 */
export async function jobsWithTasksWrittenSince(db: Db, mark: ChangeMark): Promise<string[]> {
  const query = sql<{ seq: number }>`select job.seq from tasks join job on job.id = tasks.job_id
    where tasks.change_seq >= ${mark} and tasks.type = 'runjob'`.compile(db);
  const rows = readDirectly(db, query) ?? (await db.executeQuery(query)).rows;
  return [...new Set(rows.map((row) => String(row.seq)))];
}

/** The times of the jobs of these keys as stored, as numbers (the rare job whose times are not whole seconds). */
export async function readExactTimes(db: Db, keys: readonly string[]): Promise<Map<string, ExactTimes>> {
  const rows = await db
    .selectFrom("job")
    .select(["seq", "created_at", "updated_at", "started_at", "completed_at"])
    .where("seq", "in", keys.map(Number))
    .execute();
  return new Map(
    rows.map((row) => [String(row.seq), [row.created_at, row.updated_at, row.started_at, row.completed_at]]),
  );
}
