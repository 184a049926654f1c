import { CompiledQuery, type Insertable, type Selectable, sql } from "kysely";
import type { Job } from "../../domain/job.js";
import { State, type StatusCode } from "../../domain/status.js";
import type { CancelRequest, JobStatus } from "../../domain/transition.js";
import { type Db, readDirectly } from "../index.js";
import { chunked, fromJson, toJson } from "../json.js";
import type { JobTable } from "../schema.js";

/** A job row as the domain's Job. */
export function toJob(row: Selectable<JobTable>): Job {
  return {
    id: row.id,
    rapId: row.rap_id,
    state: row.state as State,
    statusCode: row.status_code as StatusCode,
    statusMessage: row.status_message,
    repoUrl: row.repo_url,
    commit: row.commit,
    branch: row.branch,
    workspace: row.workspace,
    databaseName: row.database_name,
    action: row.action,
    actionRepoUrl: row.action_repo_url,
    actionCommit: row.action_commit,
    requiresOutputsFrom: fromJson(row.requires_outputs_from, []),
    waitForJobIds: fromJson(row.wait_for_job_ids, []),
    runCommand: row.run_command,
    outputSpec: fromJson(row.output_spec, {}),
    cancelled: Boolean(row.cancelled),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    startedAt: row.started_at,
    completedAt: row.completed_at,
    statusCodeUpdatedAt: row.status_code_updated_at,
    traceContext: fromJson(row.trace_context, null),
    requiresDb: Boolean(row.requires_db),
    backend: row.backend,
    user: row.user,
    project: row.project,
    orgs: fromJson(row.orgs, []),
    analysisScope: fromJson(row.analysis_scope, {}),
  };
}

/** A job as the row that stores it (every column a create writes). */
export function toRow(job: Job): Insertable<JobTable> {
  return {
    id: job.id,
    rap_id: job.rapId,
    state: job.state,
    status_code: job.statusCode,
    status_message: job.statusMessage,
    repo_url: job.repoUrl,
    commit: job.commit,
    branch: job.branch,
    workspace: job.workspace,
    database_name: job.databaseName,
    action: job.action,
    action_repo_url: job.actionRepoUrl,
    action_commit: job.actionCommit,
    requires_outputs_from: toJson(job.requiresOutputsFrom),
    wait_for_job_ids: toJson(job.waitForJobIds),
    run_command: job.runCommand,
    output_spec: toJson(job.outputSpec),
    cancelled: job.cancelled ? 1 : 0,
    created_at: job.createdAt,
    updated_at: job.updatedAt,
    started_at: job.startedAt,
    completed_at: job.completedAt,
    status_code_updated_at: job.statusCodeUpdatedAt,
    trace_context: job.traceContext === null ? null : toJson(job.traceContext),
    requires_db: job.requiresDb ? 1 : 0,
    backend: job.backend,
    user: job.user,
    project: job.project,
    orgs: toJson(job.orgs),
    analysis_scope: toJson(job.analysisScope),
  };
}

const INSERT_BATCH = 200;

/**
 * Insert statements' text by dialect and batch size. Keyed by the one-row statement, which is cheap to compile and
 * says what the text depends on (placeholders, quoting), rather than by the Db: every transaction is a new one.
 */
const insertSqlByDialect = new Map<string, Map<number, string>>();

/**
 * The SQL for inserting batches of jobs, each size compiled once by Kysely: building the query tree for a batch of
 * hundreds of values on every create cost more than writing the rows.
 */
function insertSql(db: Db, template: Insertable<JobTable>): (size: number) => string {
  const single = db.insertInto("job").values(template).compile().sql;
  let bySize = insertSqlByDialect.get(single);
  if (!bySize) {
    bySize = new Map([[1, single]]);
    insertSqlByDialect.set(single, bySize);
  }
  return (size) => {
    let sql = bySize.get(size);
    if (sql === undefined) {
      sql = db
        .insertInto("job")
        .values(Array.from({ length: size }, () => template))
        .compile().sql;
      bySize.set(size, sql);
    }
    return sql;
  };
}

/** Inserts new jobs. Call inside a transaction when several must appear together. */
export async function insertJobs(db: Db, jobs: readonly Job[]): Promise<void> {
  if (jobs.length === 0) return;
  const template = toRow(jobs[0]!);
  const columns = Object.keys(template) as (keyof Insertable<JobTable>)[];
  const sqlFor = insertSql(db, template);
  for (const batch of chunked(jobs, INSERT_BATCH)) {
    const parameters = batch.flatMap((job) => {
      const row = toRow(job);
      return columns.map((column) => row[column]);
    });
    await db.executeQuery(CompiledQuery.raw(sqlFor(batch.length), parameters));
  }
}

/** Every job of these RAPs on these backends, in any state (cancelled included). */
export async function jobsForRaps(
  db: Db,
  rapIds: readonly string[],
  backends: readonly string[],
): Promise<Job[]> {
  if (rapIds.length === 0 || backends.length === 0) return [];
  const jobs: Job[] = [];
  for (const batch of chunked([...new Set(rapIds)])) {
    const rows = await db
      .selectFrom("job")
      .selectAll()
      .where("rap_id", "in", batch)
      .where("backend", "in", backends)
      .execute();
    for (const row of rows) jobs.push(toJob(row));
  }
  return jobs;
}

/** Which jobs `listJobs` returns: those matching every field given, newest first, at most `limit`. */
export interface JobFilter {
  rapId?: string;
  backend?: string;
  workspace?: string;
  state?: State;
  limit: number;
}

/** Jobs for an operator's listing (`rap jobs`): newest first (creation time, then insertion order). */
export async function listJobs(db: Db, filter: JobFilter): Promise<Job[]> {
  let query = db.selectFrom("job").selectAll();
  if (filter.rapId !== undefined) query = query.where("rap_id", "=", filter.rapId);
  if (filter.backend !== undefined) query = query.where("backend", "=", filter.backend);
  if (filter.workspace !== undefined) query = query.where("workspace", "=", filter.workspace);
  if (filter.state !== undefined) query = query.where("state", "=", filter.state);
  const rows = await query.orderBy("created_at", "desc").orderBy("seq", "desc").limit(filter.limit).execute();
  return rows.map(toJob);
}

/** One job by its id, in any state. */
export async function getJob(db: Db, id: string): Promise<Job | undefined> {
  const row = await db.selectFrom("job").selectAll().where("id", "=", id).executeTakeFirst();
  return row && toJob(row);
}

/** The identity of an existing RAP (its first job's) and how many jobs it has, on any backend. */
export interface ExistingRap {
  backend: string;
  repoUrl: string;
  workspace: string;
  commit: string;
  count: number;
}

export async function existingRap(db: Db, rapId: string): Promise<ExistingRap | undefined> {
  const rows = await db
    .selectFrom("job")
    .select(["repo_url", "workspace", "commit", "backend"])
    .where("rap_id", "=", rapId)
    .orderBy("created_at")
    .orderBy("id")
    .execute();
  const first = rows[0];
  if (!first) return undefined;
  return {
    repoUrl: first.repo_url,
    workspace: first.workspace,
    commit: first.commit,
    backend: first.backend,
    count: rows.length,
  };
}

/** The distinct actions a RAP has jobs for on these backends. */
export async function actionsOfRap(db: Db, rapId: string, backends: readonly string[]): Promise<Set<string>> {
  if (backends.length === 0) return new Set();
  const rows = await db
    .selectFrom("job")
    .select("action")
    .distinct()
    .where("rap_id", "=", rapId)
    .where("backend", "in", backends)
    .execute();
  return new Set(rows.map((r) => r.action));
}

/**
 * Writes a cancel request (src/domain/transition.ts) on the unfinished jobs of these actions; the scheduler then does
 * the real cancelling. Finished jobs
 * keep their state, completed_at and place in the workspace history (DESIGN DECISIONS 3). Returns the rows changed.
 */
export async function cancelUnfinishedJobs(
  db: Db,
  rapId: string,
  actions: readonly string[],
  backends: readonly string[],
  request: CancelRequest,
): Promise<number> {
  if (actions.length === 0 || backends.length === 0) return 0;
  const result = await db
    .updateTable("job")
    .set({ cancelled: request.cancelled ? 1 : 0, completed_at: request.completedAt })
    .where("rap_id", "=", rapId)
    .where("action", "in", [...new Set(actions)])
    .where("backend", "in", backends)
    .where("state", "in", ["pending", "running"])
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * The workspace state: for each action, the latest job that was not cancelled, in any state, on this backend only.
 * Returned in action-name order. Among jobs created in the same second the first inserted wins, as in the reference:
 * `seq` orders them, not whatever order an index happens to give.
 */
export async function workspaceState(db: Db, backend: string, workspace: string): Promise<Job[]> {
  const rows = await db
    .selectFrom("job")
    .selectAll()
    .where("backend", "=", backend)
    .where("workspace", "=", workspace)
    .where("cancelled", "=", 0)
    .orderBy("action")
    .orderBy("created_at")
    .orderBy("seq")
    .execute();
  const latest = new Map<string, Selectable<JobTable>>();
  for (const row of rows) {
    const current = latest.get(row.action);
    if (!current || row.created_at > current.created_at) latest.set(row.action, row);
  }
  return [...latest.values()].map(toJob);
}

/** The running jobs of a backend (prepare-for-reboot). */
export async function runningJobs(db: Db, backend: string): Promise<Job[]> {
  const rows = await db
    .selectFrom("job")
    .selectAll()
    .where("state", "=", State.Running)
    .where("backend", "=", backend)
    .execute();
  return rows.map(toJob);
}

export interface ActiveJobCount {
  backend: string;
  state: State;
  statusCode: StatusCode;
  count: number;
}

/**
 * Pending and running jobs counted by backend, state and status code. The condition is the partial index's on
 * active jobs (migration 0001), word for word with literals, so SQLite counts from that index whatever the history.
 */
export async function activeJobCounts(db: Db): Promise<ActiveJobCount[]> {
  const rows = await db
    .selectFrom("job")
    .select(["backend", "state", "status_code", (eb) => eb.fn.countAll<number | string>().as("count")])
    .where(sql<boolean>`${sql.ref("state")} not in (${sql.lit(State.Failed)}, ${sql.lit(State.Succeeded)})`)
    .groupBy(["backend", "state", "status_code"])
    .execute();
  return rows.map((row) => ({
    backend: row.backend,
    state: row.state as State,
    statusCode: row.status_code as StatusCode,
    // PostgreSQL's count is a bigint, which pg returns as a string.
    count: Number(row.count),
  }));
}

/** What a guarded status write expects the job still to be. */
export interface ExpectedStatus {
  statusCode: StatusCode;
  cancelled: boolean;
}

/** A status as the job table's columns a status write sets. */
export function statusColumns(status: JobStatus) {
  return {
    state: status.state,
    status_code: status.statusCode,
    status_message: status.statusMessage,
    updated_at: status.updatedAt,
    started_at: status.startedAt,
    completed_at: status.completedAt,
    status_code_updated_at: status.statusCodeUpdatedAt,
  };
}

/**
 * Writes a job's status columns (src/domain/transition.ts), only if the job still has the status code and
 * cancellation it was read with. Returns false when another writer got there first (a cancel, another pass): the
 * caller then leaves the job for the next pass. Never writes `cancelled`.
 */
export async function applyStatus(
  db: Db,
  id: string,
  expected: ExpectedStatus,
  status: JobStatus,
): Promise<boolean> {
  const result = await db
    .updateTable("job")
    .set(statusColumns(status))
    .where("id", "=", id)
    .where("status_code", "=", expected.statusCode)
    .where(sql<boolean>`coalesce(cancelled, 0) = ${expected.cancelled ? 1 : 0}`)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * For one workspace on one backend, the id of the latest job of each of these actions that was not cancelled, in
 * any state (what a new task's input_job_ids name). Among jobs created in the same second the first inserted wins.
 * Only the actions asked for are read (the workspace's index leads with them): a workspace may hold thousands of
 * jobs, and a job needs a few.
 */
export async function latestJobByAction(
  db: Db,
  backend: string,
  workspace: string,
  actions: readonly string[],
): Promise<Map<string, string>> {
  if (actions.length === 0) return new Map();
  const query = db
    .selectFrom("job")
    .select(["id", "action", "created_at"])
    .where("backend", "=", backend)
    .where("workspace", "=", workspace)
    .where("action", "in", [...actions])
    .where("cancelled", "=", 0)
    .orderBy("seq")
    .compile();
  const rows = readDirectly(db, query) ?? (await db.executeQuery(query)).rows;
  const latest = new Map<string, { id: string; createdAt: number }>();
  for (const row of rows) {
    const current = latest.get(row.action);
    if (!current || row.created_at > current.createdAt)
      latest.set(row.action, { id: row.id, createdAt: row.created_at });
  }
  return new Map([...latest].map(([action, { id }]) => [action, id]));
}
