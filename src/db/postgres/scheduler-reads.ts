/**
 * The scheduler's reads, every pass, over every active job: PostgreSQL's forms of src/db/sqlite/scheduler-reads.ts.
 * A list of ids is one array parameter (`= any($1)`), so one statement however many ids there are.
 */
import { sql } from "kysely";
import type { Job } from "../../domain/job.js";
import { State } from "../../domain/status.js";
import { TaskType } from "../../domain/task.js";
import type { Db } from "../index.js";
import { toJob } from "../queries/jobs.js";
import { PROGRESS_COLUMNS, type TaskProgress, toProgress } from "../queries/tasks.js";

/** `column = any(ids)`: the ids as one array parameter. */
function anyOf(column: string, ids: readonly string[]) {
  return sql<boolean>`${sql.ref(column)} = any(${[...new Set(ids)]}::text[])`;
}

/**
 * Every job the scheduler still handles (pending or running), across backends, in insertion order: whole rows, one
 * statement. (SQLite rereads only the status of jobs in `known`; here the partial index makes the whole read cheap.)
 */
export async function activeJobs(db: Db, _known?: ReadonlyMap<string, Job>): Promise<Job[]> {
  const rows = await db
    .selectFrom("job")
    .selectAll()
    .where(sql.ref("state"), "not in", [State.Failed, State.Succeeded])
    .where("state", "in", [State.Pending, State.Running])
    .orderBy("seq")
    .execute();
  return rows.map(toJob);
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
