/**
 * The scheduler's reads (the ChangeFeed's statements, src/db/queries/active-jobs.ts): SQLite's forms, run without
 * Kysely when they can (`readDirectly`). A whole row is read as one JSON object (json_object), a list of ids is one
 * parameter (json_each, ./id-list.ts), and only the partial index's own condition makes SQLite use it. PostgreSQL
 * has its own forms (row_to_json, `= any($1)`) in src/db/postgres/scheduler-reads.ts.
 */
import { type CompiledQuery, sql } from "kysely";
import { State } from "../../domain/status.js";
import { TaskType } from "../../domain/task.js";
import { type Db, readDirectly } from "../index.js";
import { sequencedJobFromText } from "../queries/active-jobs.js";
import { PROGRESS_COLUMNS, type TaskProgress, toProgress } from "../queries/tasks.js";
import type { JobTable } from "../schema.js";
import type { ChangeMark, SequencedJob } from "../storage.js";
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
 * A whole job row as one JSON object, with its `seq` (SQLite's json_object; PostgreSQL has row_to_json). Read this
 * way a row is one string for the driver to hand over instead of 35 values, and one JSON.parse: for the scheduler's
 * full read of every active job, half the time of selecting the columns (10,000 jobs: 76 against 151 ms).
 */
const jobObjectSql = sql<string>`json_object(${sql.raw([...JOB_COLUMNS, "seq"].map((c) => `'${c}', "${c}"`).join(", "))})`;

/**
 * The condition of the partial index on active jobs (migration 0001, idx_job__state), word for word: SQLite uses a
 * partial index only for a query that states its condition, with the same literals (not parameters).
 */
const notFinished = sql<boolean>`${sql.ref("state")} not in (${sql.lit(State.Failed)}, ${sql.lit(State.Succeeded)})`;

function readRows<R>(db: Db, query: CompiledQuery<R>): R[] | Promise<R[]> {
  return readDirectly(db, query) ?? db.executeQuery(query).then((result) => result.rows);
}

/**
 * Every job the scheduler still handles (pending or running), across backends, in insertion order. Without the
 * index's condition (`notFinished`) every pass read the whole history of the table.
 */
export async function activeJobs(db: Db): Promise<SequencedJob[]> {
  const query = db
    .selectFrom("job")
    .select(jobObjectSql.as("row"))
    .where(notFinished)
    .where("state", "in", [State.Pending, State.Running])
    .orderBy("seq")
    .compile();
  return (await readRows(db, query)).map(({ row }) => sequencedJobFromText(row));
}

/**
 * Where the writes not yet read begin: the counter's next value (migration 0007). Read before the rows it covers, so
 * a write committed meanwhile comes again in the next read rather than never.
 */
export async function changeMark(db: Db): Promise<ChangeMark> {
  const query = sql<{ value: number }>`select value from change_counter`.compile(db);
  const [row] = await readRows(db, query);
  return row!.value + 1;
}

/**
 * Every job written from `mark` on, whatever its state (idx_job__change_seq). In no order: ordered by `seq`, the
 * planner would rather scan the table in that order than sort the few rows the index finds.
 */
export async function jobsChangedSince(db: Db, mark: ChangeMark): Promise<SequencedJob[]> {
  const query = db.selectFrom("job").select(jobObjectSql.as("row")).where("change_seq", ">=", mark).compile();
  return (await readRows(db, query)).map(({ row }) => sequencedJobFromText(row));
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

/** RUNJOB tasks without their definitions. */
function runJobTasksWritten(db: Db) {
  return db.selectFrom("tasks").select(PROGRESS_COLUMNS).where("type", "=", TaskType.RunJob);
}

/** RUNJOB tasks in the order the scheduler takes them: by job, each job's oldest first (ids sort so within a job). */
function runJobTasks(db: Db) {
  return runJobTasksWritten(db).orderBy("job_id").orderBy(sql`length(id)`).orderBy("id");
}

/**
 * Every RUNJOB task of these jobs, without their definitions: the scheduler needs none, and reading and parsing them
 * (a kilobyte of JSON each) was more than half of its full read. One statement however many jobs.
 */
export async function runJobTasksOf(db: Db, jobIds: readonly string[]): Promise<TaskProgress[]> {
  if (jobIds.length === 0) return [];
  const query = runJobTasks(db)
    .where("job_id", "in", anyOf([...new Set(jobIds)]))
    .compile();
  return (await readRows(db, query)).map(toProgress);
}

/** Every RUNJOB task written from `mark` on, in no order (idx_tasks__change_seq, as for jobsChangedSince). */
export async function runJobTasksChangedSince(db: Db, mark: ChangeMark): Promise<TaskProgress[]> {
  const query = runJobTasksWritten(db).where("change_seq", ">=", mark).compile();
  return (await readRows(db, query)).map(toProgress);
}
