/**
 * Starting many jobs in two statements (src/db/storage.ts `JobStore.start`): the guarded status writes of every job,
 * then the tasks of the jobs whose write went through. This module shapes the rows both dialects' statements read as
 * one JSON parameter (src/db/sqlite/start-jobs.ts, src/db/postgres/start-jobs.ts): one statement's parse and plan for
 * hundreds of jobs, and on PostgreSQL one round trip where a job at a time took four.
 */
import { CompiledQuery } from "kysely";
import type { JobStatus } from "../../domain/transition.js";
import type { Db } from "../index.js";
import type { JobTable } from "../schema.js";
import type { ExpectedStatus } from "./jobs.js";
import { type NewTask, newTaskRow } from "./tasks.js";

/** One job's start: its guarded status write and its new task, written together or not at all. */
export interface JobStart {
  jobId: string;
  expected: ExpectedStatus;
  status: JobStatus;
  task: NewTask;
}

/** The statements, a dialect's SQL: each takes one JSON array of rows as its one parameter. */
export interface StartStatements {
  /** The guarded status writes (statusRowsJson), returning the ids of the jobs written. */
  updateStatus: string;
  /** The tasks (taskRowsJson), inserted in the order given. */
  insertTasks: string;
}

/** Starts the jobs with a dialect's statements; returns the ids of those started. */
export function startJobsWith(statements: StartStatements) {
  return async (db: Db, starts: readonly JobStart[]): Promise<Set<string>> => {
    if (starts.length === 0) return new Set();
    const { rows } = await db.executeQuery<{ id: string }>(
      CompiledQuery.raw(statements.updateStatus, [statusRowsJson(starts)]),
    );
    const started = new Set(rows.map((row) => row.id));
    if (started.size > 0)
      await db.executeQuery(CompiledQuery.raw(statements.insertTasks, [taskRowsJson(starts, started)]));
    return started;
  };
}

/** The status writes, with the status each job is expected still to have, as rows of the job table's column names. */
function statusRowsJson(starts: readonly JobStart[]): string {
  return JSON.stringify(
    starts.map(({ jobId, expected, status }) => ({
      id: jobId,
      expected_code: expected.statusCode,
      expected_cancelled: expected.cancelled ? 1 : 0,
      state: status.state,
      status_code: status.statusCode,
      status_message: status.statusMessage,
      updated_at: status.updatedAt,
      started_at: status.startedAt,
      completed_at: status.completedAt,
      status_code_updated_at: status.statusCodeUpdatedAt,
    })),
  );
}

/** The tasks of the jobs started, in the order given, as rows of the tasks table's column names. */
function taskRowsJson(starts: readonly JobStart[], started: ReadonlySet<string>): string {
  return JSON.stringify(starts.filter(({ jobId }) => started.has(jobId)).map(({ task }) => newTaskRow(task)));
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
] as const satisfies readonly (keyof JobTable)[];

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
