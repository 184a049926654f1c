/** The tasks table: what the controller asks of agents, and what they report back. */
import { type Selectable, sql } from "kysely";
import { type Task, TaskType } from "../../domain/task.js";
import { toAsciiJson } from "../../python/ascii-json.js";
import { type Db, readDirectly } from "../index.js";
import { fromJson, toJson } from "../json.js";
import type { TaskTable } from "../schema.js";

/** A RUNJOB task without what its agent is sent (definition, attributes): its state and what the agent reported. */
export type TaskProgress = Omit<Task, "definition" | "attributes">;

/** The columns of a TaskProgress. */
export const PROGRESS_COLUMNS = [
  "id",
  "backend",
  "type",
  "job_id",
  "active",
  "created_at",
  "finished_at",
  "agent_stage",
  "agent_complete",
  "agent_results",
  "agent_timestamp_ns",
  "agent_updated_at",
] as const satisfies readonly (keyof TaskTable)[];

export function toProgress(
  row: Pick<Selectable<TaskTable>, (typeof PROGRESS_COLUMNS)[number]>,
): TaskProgress {
  return {
    id: row.id,
    backend: row.backend,
    type: row.type as TaskType,
    jobId: row.job_id,
    active: Boolean(row.active),
    createdAt: row.created_at,
    finishedAt: row.finished_at,
    agentStage: row.agent_stage,
    agentComplete: Boolean(row.agent_complete),
    agentResults: fromJson(row.agent_results, null),
    agentTimestampNs: row.agent_timestamp_ns,
    agentUpdatedAt: row.agent_updated_at,
  };
}

function toTask(row: Selectable<TaskTable>): Task {
  return {
    ...toProgress(row),
    definition: fromJson(row.definition, {}),
    attributes: fromJson(row.attributes, {}),
  };
}

/** A task as it is created: what is asked of the agent, before it is active or has reported anything. */
export type NewTask = Pick<
  Task,
  "id" | "backend" | "type" | "jobId" | "definition" | "attributes" | "createdAt"
>;

export function newTaskRow(task: NewTask) {
  return {
    id: task.id,
    backend: task.backend,
    type: task.type,
    job_id: task.jobId,
    // ASCII JSON, as the Task API sends it: agents poll every second, so serving it needs no re-encoding.
    definition: toAsciiJson(task.definition),
    attributes: toAsciiJson(task.attributes),
    active: 1,
    created_at: task.createdAt,
    agent_complete: 0,
  };
}

/** Inserts an active task. A task id already taken fails (the primary key): a job is never started twice. */
export async function insertTask(db: Db, task: NewTask): Promise<void> {
  await db.insertInto("tasks").values(newTaskRow(task)).execute();
}

/**
 * Inserts a scheduled DBSTATUS/DBDATACHECK task unless its backend already has an active one of its type (the unique
 * index of migration 0004 decides, so two schedulers cannot both create one). Returns whether it was inserted.
 */
export async function insertScheduledTask(db: Db, task: NewTask): Promise<boolean> {
  const result = await db
    .insertInto("tasks")
    .values(newTaskRow(task))
    .onConflict((oc) => oc.doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
}

export async function getTask(db: Db, id: string): Promise<Task | undefined> {
  const row = await db.selectFrom("tasks").selectAll().where("id", "=", id).executeTakeFirst();
  return row ? toTask(row) : undefined;
}

/** An active task with its JSON columns as stored (the Task API serves them without re-encoding). */
export interface ActiveTaskText {
  id: string;
  backend: string;
  type: string;
  definition: string;
  attributes: string;
  created_at: number;
}

/**
 * The active tasks of a backend as stored, scheduled DBSTATUS tasks first, then in creation order. Agents poll this
 * every second: one indexed statement, no JSON parsed.
 */
export async function activeTasksText(db: Db, backend: string): Promise<ActiveTaskText[]> {
  const query = db
    .selectFrom("tasks")
    .select(["id", "backend", "type", "definition", "attributes", "created_at"])
    .where("backend", "=", backend)
    .where("active", "=", 1)
    .orderBy(sql`type = ${TaskType.DbStatus}`, "desc")
    .orderBy("created_at")
    .orderBy("seq")
    .compile();
  return readDirectly(db, query) ?? (await db.executeQuery(query)).rows;
}

/**
 * A value that changes whenever a backend's active tasks (what activeTasksText answers) change: their number, the
 * last one's insertion number and the sum of those numbers. A task's served columns never change once inserted, a
 * task is never deleted or made active again, and each insert takes a `seq` above every other (SQLite writes one
 * transaction at a time; on PostgreSQL only the lease holder inserts tasks): so the same value means the same tasks.
 * One index-only read, whatever the number of tasks.
 */
export async function activeTasksStamp(db: Db, backend: string): Promise<string> {
  const query = db
    .selectFrom("tasks")
    .select((eb) => [
      eb.fn.countAll<number>().as("count"),
      eb.fn.max<number | null>("seq").as("last"),
      eb.fn.sum<number | string | null>("seq").as("total"),
    ])
    .where("backend", "=", backend)
    .where("active", "=", 1)
    .compile();
  const [row] = readDirectly(db, query) ?? (await db.executeQuery(query)).rows;
  return `${row?.count ?? 0}-${row?.last ?? 0}-${row?.total ?? 0}`;
}

/**
 * The ids of a backend's active tasks of one type (scheduled DBSTATUS/DBDATACHECK tasks, cancels in progress). Read
 * every scheduler pass: finished tasks, one more every interval and kept for ever, are not read.
 */
export async function activeTaskIdsOfType(db: Db, backend: string, type: TaskType): Promise<string[]> {
  const rows = await db
    .selectFrom("tasks")
    .select("id")
    .where("backend", "=", backend)
    .where("active", "=", 1)
    .where("type", "=", type)
    .execute();
  return rows.map((row) => row.id);
}

/** When a backend's task of this type last finished (Unix seconds); null when none has. */
export async function lastFinishedOfType(db: Db, backend: string, type: TaskType): Promise<number | null> {
  const row = await db
    .selectFrom("tasks")
    .select((eb) => eb.fn.max("finished_at").as("last"))
    .where("backend", "=", backend)
    .where("type", "=", type)
    .executeTakeFirst();
  return row?.last ?? null;
}

/**
 * Marks a task inactive: the agent stops working on it. `finishedAt` is set when the controller ends it (a cancel),
 * left NULL when a scheduled task is merely switched off, as the reference does. Returns whether it was active.
 */
export async function deactivateTask(db: Db, id: string, finishedAt: number | null): Promise<boolean> {
  const result = await db
    .updateTable("tasks")
    .set(finishedAt === null ? { active: 0 } : { active: 0, finished_at: finishedAt })
    .where("id", "=", id)
    .where("active", "=", 1)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export interface AgentUpdate {
  stage: string;
  results: Record<string, unknown>;
  complete: boolean;
  /** Kept as it was when null. */
  timestampNs: number | null;
}

/**
 * Records what the agent reported: only the agent's columns change, and a completed task becomes inactive. An
 * update never re-activates a task the controller has ended. Returns false when no such task exists on `backend`.
 */
export async function recordAgentUpdate(
  db: Db,
  backend: string,
  taskId: string,
  update: AgentUpdate,
  now: number,
): Promise<boolean> {
  const result = await db
    .updateTable("tasks")
    .set({
      agent_stage: update.stage,
      agent_results: toJson(update.results),
      agent_complete: update.complete ? 1 : 0,
      agent_updated_at: now,
      ...(update.timestampNs === null ? {} : { agent_timestamp_ns: update.timestampNs }),
      ...(update.complete ? { active: 0, finished_at: now } : {}),
    })
    .where("id", "=", taskId)
    .where("backend", "=", backend)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}
