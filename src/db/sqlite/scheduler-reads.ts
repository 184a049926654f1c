/**
 * The scheduler's reads, every pass, over every active job: SQLite's forms, run without Kysely when they can
 * (`readDirectly`). A whole row is read as one JSON object (json_object), a list of ids is one parameter (json_each,
 * ./id-list.ts), and only the partial index's own condition makes SQLite use it. PostgreSQL will have its own forms
 * (json_build_object, `= any($1)`) behind the same JobStore and TaskStore methods.
 */
import { sql } from "kysely";
import type { Job } from "../../domain/job.js";
import { State } from "../../domain/status.js";
import { TaskType } from "../../domain/task.js";
import { type Db, readDirectly } from "../index.js";
import { activeJobFromText, STATUS_COLUMNS } from "../queries/active-jobs.js";
import { PROGRESS_COLUMNS, type TaskProgress, toProgress } from "../queries/tasks.js";
import type { JobTable } from "../schema.js";
import { anyOf } from "./id-list.js";

/** Every column of the job table, in table order (the keys a job row read as one JSON object has). */
const JOB_COLUMNS = [
  "id",
  "rap_id",
  "state",
  "repo_url",
  "commit",
  "workspace",
  "database_name",
  "action",
  "action_repo_url",
  "action_commit",
  "requires_outputs_from",
  "wait_for_job_ids",
  "run_command",
  "image_id",
  "output_spec",
  "outputs",
  "unmatched_outputs",
  "level4_excluded_files",
  "status_message",
  "status_code",
  "cancelled",
  "created_at",
  "updated_at",
  "started_at",
  "completed_at",
  "trace_context",
  "status_code_updated_at",
  "requires_db",
  "backend",
  "branch",
  "user",
  "project",
  "orgs",
  "analysis_scope",
] as const satisfies readonly (keyof JobTable)[];

/**
 * A whole job row as one JSON object (SQLite's json_object; PostgreSQL has json_build_object). Read this way a row is
 * one string for the driver to hand over instead of 34 values, and one JSON.parse: for the scheduler's read of every
 * active job each pass, half the time of selecting the columns (10,000 jobs: 76 against 151 ms).
 */
const jobObjectSql = sql<string>`json_object(${sql.raw(JOB_COLUMNS.map((c) => `'${c}', "${c}"`).join(", "))})`;

/**
 * The condition of the partial index on active jobs (migration 0001, idx_job__state), word for word: SQLite uses a
 * partial index only for a query that states its condition, with the same literals (not parameters).
 */
const notFinished = sql<boolean>`${sql.ref("state")} not in (${sql.lit(State.Failed)}, ${sql.lit(State.Succeeded)})`;

/** A job's status columns as one JSON array (STATUS_COLUMNS, in their order). */
const statusArraySql = sql<string>`json_array(${sql.raw(STATUS_COLUMNS.join(", "))})`;

/**
 * Every job the scheduler still handles (pending or running), across backends, in insertion order. Without the
 * index's condition (`notFinished`) every pass read the whole history of the table.
 *
 * `known` holds jobs read before (the previous pass's): of those only the status columns are read again, and the
 * rest is taken from `known`, since it never changes. A pass then reads a few values per job instead of its whole
 * row (10,000 jobs: 14 against 71 ms). One statement all the same, so every job comes from the same snapshot.
 */
export async function activeJobs(db: Db, known: ReadonlyMap<string, Job> = new Map()): Promise<Job[]> {
  const row =
    known.size === 0
      ? jobObjectSql
      : sql<string>`case when id in ${anyOf([...known.keys()])} then ${statusArraySql} else ${jobObjectSql} end`;
  const query = db
    .selectFrom("job")
    .select(row.as("row"))
    .where(notFinished)
    .where("state", "in", [State.Pending, State.Running])
    .orderBy("seq")
    .compile();
  const rows = readDirectly(db, query) ?? (await db.executeQuery(query)).rows;
  return rows.map(({ row }) => activeJobFromText(row, known));
}

/** The coarse state of each of these jobs that exists (ids that no longer exist are absent). One statement. */
export async function jobStates(db: Db, ids: readonly string[]): Promise<Map<string, State>> {
  const states = new Map<string, State>();
  if (ids.length === 0) return states;
  const query = db
    .selectFrom("job")
    .select(["id", "state"])
    .where("id", "in", anyOf([...new Set(ids)]))
    .compile();
  const rows = readDirectly(db, query) ?? (await db.executeQuery(query)).rows;
  for (const row of rows) states.set(row.id, row.state as State);
  return states;
}

/**
 * Every RUNJOB task of these jobs, oldest first per job (ids sort in creation order within a job), without their
 * definitions: the scheduler reads them for all its active jobs every pass and needs none, and reading and parsing
 * them (a kilobyte of JSON each) was more than half of that read. One statement however many jobs.
 */
export async function runJobTasksOf(db: Db, jobIds: readonly string[]): Promise<Map<string, TaskProgress[]>> {
  const byJob = new Map<string, TaskProgress[]>();
  if (jobIds.length === 0) return byJob;
  const query = db
    .selectFrom("tasks")
    .select(PROGRESS_COLUMNS)
    .where("job_id", "in", anyOf([...new Set(jobIds)]))
    .where("type", "=", TaskType.RunJob)
    .orderBy("job_id")
    .orderBy(sql`length(id)`)
    .orderBy("id")
    .compile();
  const rows = readDirectly(db, query) ?? (await db.executeQuery(query)).rows;
  for (const row of rows) {
    const task = toProgress(row);
    const list = byJob.get(row.job_id!);
    if (list) list.push(task);
    else byJob.set(row.job_id!, [task]);
  }
  return byJob;
}
