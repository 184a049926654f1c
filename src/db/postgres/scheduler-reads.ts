/**
 * The scheduler's reads, every pass, over every active job: PostgreSQL's forms of src/db/sqlite/scheduler-reads.ts.
 * A list of ids is one array parameter (`= any($1)`), so one statement however many ids there are.
 */
import { type RawBuilder, sql } from "kysely";
import type { Job } from "../../domain/job.js";
import { State } from "../../domain/status.js";
import { TaskType } from "../../domain/task.js";
import type { Db } from "../index.js";
import { activeJobFromText, parseStatus, STATUS_COLUMNS, withStatus } from "../queries/active-jobs.js";
import { PROGRESS_COLUMNS, type TaskProgress, toProgress } from "../queries/tasks.js";

/** `column = any(ids)`: the ids as one array parameter. */
function anyOf(column: string, ids: readonly string[]) {
  return sql<boolean>`${sql.ref(column)} = any(${[...new Set(ids)]}::text[])`;
}

/** A whole job row as one JSON object (a row is one value for `pg` to hand over and one JSON.parse, not 34). */
const jobObjectSql = sql<string>`row_to_json(job)::text`;

/** A job's status columns as one JSON array (STATUS_COLUMNS, in their order). */
const statusArraySql = sql<string>`json_build_array(${sql.raw(STATUS_COLUMNS.join(", "))})::text`;

/** The active jobs, by the index's condition, in insertion order. */
function activeRows(db: Db, row: RawBuilder<string>) {
  return db
    .selectFrom("job")
    .select(row.as("row"))
    .where(sql.ref("state"), "not in", [State.Failed, State.Succeeded])
    .where("state", "in", [State.Pending, State.Running])
    .orderBy("seq")
    .execute();
}

/**
 * Every job the scheduler still handles (pending or running), across backends, in insertion order.
 *
 * `known` holds jobs read before (the previous pass's): of those only the status columns are read again, as SQLite
 * does, and the rest is taken from `known`, since it never changes. Every job's status comes from one statement, so
 * from one snapshot. That statement takes no list of the known ids (SQLite's does): the jobs it shows that are not
 * known are read whole by a second statement, whose status columns are not used; in a steady pass there are none.
 */
export async function activeJobs(db: Db, known: ReadonlyMap<string, Job> = new Map()): Promise<Job[]> {
  if (known.size === 0)
    return (await activeRows(db, jobObjectSql)).map(({ row }) => activeJobFromText(row, known));
  const statuses = (await activeRows(db, statusArraySql)).map(({ row }) => parseStatus(row));
  const unknown = statuses.filter(([id]) => !known.has(id)).map(([id]) => id);
  const read = new Map<string, Job>();
  if (unknown.length > 0) {
    const rows = await db
      .selectFrom("job")
      .select(jobObjectSql.as("row"))
      .where(anyOf("id", unknown))
      .execute();
    for (const { row } of rows) {
      const job = activeJobFromText(row, known);
      read.set(job.id, job);
    }
  }
  return statuses.map((status) => withStatus(known.get(status[0]) ?? read.get(status[0])!, status));
}

/** The coarse state of each of these jobs that exists (ids that no longer exist are absent). One statement. */
export async function jobStates(db: Db, ids: readonly string[]): Promise<Map<string, State>> {
  if (ids.length === 0) return new Map();
  const rows = await db.selectFrom("job").select(["id", "state"]).where(anyOf("id", ids)).execute();
  return new Map(rows.map((row) => [row.id, row.state as State]));
}

/** Every RUNJOB task of these jobs, oldest first per job, without their definitions. One statement. */
export async function runJobTasksOf(db: Db, jobIds: readonly string[]): Promise<Map<string, TaskProgress[]>> {
  const byJob = new Map<string, TaskProgress[]>();
  if (jobIds.length === 0) return byJob;
  const rows = await db
    .selectFrom("tasks")
    .select(PROGRESS_COLUMNS)
    .where(anyOf("job_id", jobIds))
    .where("type", "=", TaskType.RunJob)
    .orderBy("job_id")
    .orderBy(sql`length(id)`)
    .orderBy(sql`id collate "C"`)
    .execute();
  for (const row of rows) {
    const task = toProgress(row);
    const list = byJob.get(row.job_id!);
    if (list) list.push(task);
    else byJob.set(row.job_id!, [task]);
  }
  return byJob;
}
