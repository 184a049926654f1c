/**
 * The scheduler's reads (the ChangeFeed's statements, src/db/queries/active-jobs.ts): PostgreSQL's forms of
 * src/db/sqlite/scheduler-reads.ts.
 * A list of ids is one array parameter (`= any($1)`), so one statement however many ids there are.
 */
import { sql } from "kysely";
import { State } from "../../domain/status.js";
import { TaskType } from "../../domain/task.js";
import type { Db } from "../index.js";
import { sequencedJobFromText } from "../queries/active-jobs.js";
import { PROGRESS_COLUMNS, type TaskProgress, toProgress } from "../queries/tasks.js";
import type { ChangeMark, SequencedJob } from "../storage.js";

/** `column = any(ids)`: the ids as one array parameter. */
function anyOf(column: string, ids: readonly string[]) {
  return sql<boolean>`${sql.ref(column)} = any(${[...new Set(ids)]}::text[])`;
}

/** A whole job row as one JSON object, `seq` included (a row is one value for `pg` to hand over and one JSON.parse). */
const jobObjectSql = sql<string>`row_to_json(job)::text`;

/** Every job the scheduler still handles (pending or running), across backends, in insertion order. */
export async function activeJobs(db: Db): Promise<SequencedJob[]> {
  const rows = await db
    .selectFrom("job")
    .select(jobObjectSql.as("row"))
    .where(sql.ref("state"), "not in", [State.Failed, State.Succeeded])
    .where("state", "in", [State.Pending, State.Running])
    .orderBy("seq")
    .execute();
  return rows.map(({ row }) => sequencedJobFromText(row));
}

/**
 * Where the writes not yet read begin: the oldest transaction still running (migration 0007 numbers each row with
 * its writer's transaction id). Every write this statement's snapshot does not show is a transaction's at least that
 * old, however the transactions running now commit; read before the rows, whose statements see at least as much.
 */
export async function changeMark(db: Db): Promise<ChangeMark> {
  const { rows } = await sql<{
    mark: string;
  }>`select pg_snapshot_xmin(pg_current_snapshot())::text as mark`.execute(db);
  return Number(rows[0]!.mark);
}

/**
 * Every job written from `mark` on, whatever its state (idx_job__change_seq). In no order: ordered by `seq`, the
 * planner would rather scan the table in that order than sort the few rows the index finds.
 */
export async function jobsChangedSince(db: Db, mark: ChangeMark): Promise<SequencedJob[]> {
  const rows = await db
    .selectFrom("job")
    .select(jobObjectSql.as("row"))
    .where("change_seq", ">=", mark)
    .execute();
  return rows.map(({ row }) => sequencedJobFromText(row));
}

/** The coarse state of each of these jobs that exists (ids that no longer exist are absent). One statement. */
export async function jobStates(db: Db, ids: readonly string[]): Promise<Map<string, State>> {
  if (ids.length === 0) return new Map();
  const rows = await db.selectFrom("job").select(["id", "state"]).where(anyOf("id", ids)).execute();
  return new Map(rows.map((row) => [row.id, row.state as State]));
}

/** RUNJOB tasks without their definitions. */
function runJobTasksWritten(db: Db) {
  return db.selectFrom("tasks").select(PROGRESS_COLUMNS).where("type", "=", TaskType.RunJob);
}

/** RUNJOB tasks in the order the scheduler takes them: by job, each job's oldest first (ids sort so within a job). */
function runJobTasks(db: Db) {
  return runJobTasksWritten(db).orderBy("job_id").orderBy(sql`length(id)`).orderBy(sql`id collate "C"`);
}

/** Every RUNJOB task of these jobs, without their definitions. One statement. */
export async function runJobTasksOf(db: Db, jobIds: readonly string[]): Promise<TaskProgress[]> {
  if (jobIds.length === 0) return [];
  return (await runJobTasks(db).where(anyOf("job_id", jobIds)).execute()).map(toProgress);
}

/** Every RUNJOB task written from `mark` on, in no order (idx_tasks__change_seq, as for jobsChangedSince). */
export async function runJobTasksChangedSince(db: Db, mark: ChangeMark): Promise<TaskProgress[]> {
  return (await runJobTasksWritten(db).where("change_seq", ">=", mark).execute()).map(toProgress);
}
