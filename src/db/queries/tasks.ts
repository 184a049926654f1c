import type { Db } from "../index.js";
import { chunked, fromJson, toJson } from "../json.js";

export const TaskType = {
  RunJob: "runjob",
  CancelJob: "canceljob",
  DbStatus: "dbstatus",
  DbDataCheck: "dbdatacheck",
} as const;
export type TaskType = (typeof TaskType)[keyof typeof TaskType];

/** RUNJOB task ids are `{job_id}-{n:03}`; n grows by one for each new task of the job. */
export function runJobTaskId(jobId: string, number: number): string {
  return `${jobId}-${String(number).padStart(3, "0")}`;
}

export function runJobTaskNumber(jobId: string, taskId: string): number {
  return Number(taskId.slice(jobId.length + 1));
}

/**
 * For each job of these RAPs, the `job_metrics` of its latest RUNJOB task's results (the highest task number).
 * Jobs without a task or without metrics are absent. A constant number of queries, however many jobs.
 */
export async function latestRunJobMetrics(
  db: Db,
  rapIds: readonly string[],
  backends: readonly string[],
): Promise<Map<string, unknown>> {
  const latest = new Map<string, { number: number; results: string | null }>();
  if (rapIds.length === 0 || backends.length === 0) return new Map();
  for (const batch of chunked([...new Set(rapIds)])) {
    const rows = await db
      .selectFrom("tasks")
      .innerJoin("job", "job.id", "tasks.job_id")
      .select(["tasks.job_id as jobId", "tasks.id as id", "tasks.agent_results as results"])
      .where("job.rap_id", "in", batch)
      .where("job.backend", "in", backends)
      .where("tasks.type", "=", TaskType.RunJob)
      .execute();
    for (const row of rows) {
      const jobId = row.jobId!;
      const number = runJobTaskNumber(jobId, row.id);
      const current = latest.get(jobId);
      if (!current || number > current.number) latest.set(jobId, { number, results: row.results });
    }
  }
  const metrics = new Map<string, unknown>();
  for (const [jobId, { results }] of latest) {
    const parsed = fromJson<Record<string, unknown> | null>(results, null);
    if (parsed && typeof parsed === "object" && "job_metrics" in parsed)
      metrics.set(jobId, parsed.job_metrics);
  }
  return metrics;
}

export interface NewTask {
  id: string;
  backend: string;
  type: TaskType;
  jobId: string | null;
  definition: Record<string, unknown>;
  attributes: Record<string, string>;
  /** Whole Unix seconds. */
  createdAt: number;
}

export async function insertTask(db: Db, task: NewTask): Promise<void> {
  await db
    .insertInto("tasks")
    .values({
      id: task.id,
      backend: task.backend,
      type: task.type,
      job_id: task.jobId,
      definition: toJson(task.definition),
      attributes: toJson(task.attributes),
      active: 1,
      created_at: task.createdAt,
      agent_complete: 0,
    })
    .execute();
}

/** Records what the agent reported for a task: only the agent's columns change. */
export async function recordAgentUpdate(
  db: Db,
  taskId: string,
  update: { stage: string; results: Record<string, unknown>; complete: boolean; timestampNs: number | null },
  now: number,
): Promise<boolean> {
  const result = await db
    .updateTable("tasks")
    .set({
      agent_stage: update.stage,
      agent_results: toJson(update.results),
      agent_complete: update.complete ? 1 : 0,
      agent_timestamp_ns: update.timestampNs,
      ...(update.complete ? { active: 0, finished_at: now } : {}),
    })
    .where("id", "=", taskId)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}
