/**
 * Many jobs' guarded status writes in two statements (src/db/storage.ts `JobStore.applyStatuses`): every job's
 * status, then the tasks of the jobs started whose write went through. This module shapes the rows both dialects'
 * statements read as one JSON parameter (src/db/sqlite/status-writes.ts, src/db/postgres/status-writes.ts): one
 * statement's parse and plan for hundreds of jobs, and on PostgreSQL one round trip where a job at a time took four.
 */
import { CompiledQuery } from "kysely";
import type { JobStatus } from "../../domain/transition.js";
import type { Db } from "../index.js";
import { type ExpectedStatus, statusColumns } from "./jobs.js";
import { type NewTask, newTaskRow } from "./tasks.js";

/** One job's guarded status write and, when it starts the job, its new task: written together or not at all. */
export interface GuardedStatus {
  jobId: string;
  expected: ExpectedStatus;
  status: JobStatus;
  task?: NewTask | undefined;
}

/** The statements, a dialect's SQL: each takes one JSON array of rows as its one parameter. */
export interface StatusStatements {
  /** The guarded status writes (statusRowsJson), returning the ids of the jobs written. */
  updateStatus: string;
  /** The tasks (taskRows), inserted in the order given. */
  insertTasks: string;
}

/** Writes the statuses with a dialect's statements; returns the ids of the jobs written. */
export function applyStatusesWith(statements: StatusStatements) {
  return async (db: Db, writes: readonly GuardedStatus[]): Promise<Set<string>> => {
    if (writes.length === 0) return new Set();
    const { rows } = await db.executeQuery<{ id: string }>(
      CompiledQuery.raw(statements.updateStatus, [statusRowsJson(writes)]),
    );
    const written = new Set(rows.map((row) => row.id));
    const tasks = taskRows(writes, written);
    if (tasks.length > 0)
      await db.executeQuery(CompiledQuery.raw(statements.insertTasks, [JSON.stringify(tasks)]));
    return written;
  };
}

/** The status writes, with the status each job is expected still to have, as rows of the job table's column names. */
function statusRowsJson(writes: readonly GuardedStatus[]): string {
  return JSON.stringify(
    writes.map(({ jobId, expected, status }) => ({
      id: jobId,
      expected_code: expected.statusCode,
      expected_cancelled: expected.cancelled ? 1 : 0,
      ...statusColumns(status),
    })),
  );
}

/** The tasks of the jobs written, in the order given, as rows of the tasks table's column names. */
function taskRows(writes: readonly GuardedStatus[], written: ReadonlySet<string>) {
  return writes.flatMap(({ jobId, task }) => (task && written.has(jobId) ? [newTaskRow(task)] : []));
}

/** The job columns a status write sets. */
export const STATUS_COLUMNS = [
  "state",
  "status_code",
  "status_message",
  "updated_at",
  "started_at",
  "completed_at",
  "status_code_updated_at",
] as const satisfies readonly (keyof ReturnType<typeof statusColumns>)[];

/** The columns a new task is inserted with (newTaskRow's). */
export const NEW_TASK_COLUMNS = [
  "id",
  "backend",
  "type",
  "job_id",
  "definition",
  "attributes",
  "active",
  "created_at",
  "agent_complete",
] as const satisfies readonly (keyof ReturnType<typeof newTaskRow>)[];
