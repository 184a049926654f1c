/**
 * The scheduler's read of every active job, as both dialects answer it (src/db/sqlite/scheduler-reads.ts and
 * src/db/postgres/scheduler-reads.ts): one text value per job, either its whole row as a JSON object (a job read
 * for the first time) or its status columns as a JSON array (a job in `known`, read before). Only the SQL that
 * writes those values differs between the dialects; what they contain and how they become jobs is here.
 */
import type { Selectable } from "kysely";
import type { Job } from "../../domain/job.js";
import type { State, StatusCode } from "../../domain/status.js";
import type { JobTable } from "../schema.js";
import { toJob } from "./jobs.js";

/**
 * A job's status columns, in the order of the JSON array: what writes after its insert change (applyStatus; a cancel
 * sets cancelled and completed_at). Every other column of a job is fixed when it is inserted.
 */
export const STATUS_COLUMNS = [
  "id",
  "state",
  "status_code",
  "status_message",
  "cancelled",
  "updated_at",
  "started_at",
  "completed_at",
  "status_code_updated_at",
] as const satisfies readonly (keyof JobTable)[];

export type StatusValues = [
  id: string,
  state: State,
  statusCode: StatusCode,
  statusMessage: string | null,
  cancelled: number | null,
  updatedAt: number,
  startedAt: number | null,
  completedAt: number | null,
  statusCodeUpdatedAt: number,
];

/** The job one value of the read stands for: a whole row, or a known job with its status read again. */
export function activeJobFromText(text: string, known: ReadonlyMap<string, Job>): Job {
  if (text.startsWith("{")) return toJob(JSON.parse(text) as Selectable<JobTable>);
  const status = parseStatus(text);
  return withStatus(known.get(status[0])!, status);
}

/** A JSON array of a job's STATUS_COLUMNS, parsed. */
export function parseStatus(text: string): StatusValues {
  return JSON.parse(text) as StatusValues;
}

/** `job` with the status read again. */
export function withStatus(job: Job, status: StatusValues): Job {
  const [
    ,
    state,
    statusCode,
    statusMessage,
    cancelled,
    updatedAt,
    startedAt,
    completedAt,
    statusCodeUpdatedAt,
  ] = status;
  return {
    ...job,
    state,
    statusCode,
    statusMessage,
    cancelled: Boolean(cancelled),
    updatedAt,
    startedAt,
    completedAt,
    statusCodeUpdatedAt,
  };
}
