/**
 * The Task API's wire types, shared by the controller (which builds and serves tasks) and the agent (which runs
 * them and reports back). Field names and order are the reference's (reference/controller.md §1.6, §4.4;
 * reference/agent.md §1.3, §1.8): agents and controllers of either implementation must understand each other.
 */

export const TaskType = {
  RunJob: "runjob",
  CancelJob: "canceljob",
  DbStatus: "dbstatus",
  DbDataCheck: "dbdatacheck",
} as const;
export type TaskType = (typeof TaskType)[keyof typeof TaskType];

const TASK_TYPES: ReadonlySet<string> = new Set(Object.values(TaskType));

export function isTaskType(value: string): value is TaskType {
  return TASK_TYPES.has(value);
}

/** A task as `GET /{backend}/tasks/` serves it. */
export interface AgentTask {
  id: string;
  backend: string;
  type: TaskType;
  /** A JobDefinition for RUNJOB/CANCELJOB; the scheduled task's parameters for DBSTATUS/DBDATACHECK. */
  definition: Record<string, unknown>;
  /** Tracing key/values: `{user, project, orgs: "a,b"}` for job tasks, `{}` for scheduled ones. */
  attributes: Record<string, string>;
  /** Whole Unix seconds (controller clock). */
  created_at: number;
}

/** The repository, commit and branch of the workspace the job belongs to. */
export interface Study {
  git_repo_url: string;
  commit: string;
  branch: string;
}

/** The definition of a RUNJOB or CANCELJOB task: everything the agent needs to run (or stop) one job. */
export interface JobDefinition {
  id: string;
  rap_id: string;
  task_id: string;
  /** The repository of the action's code: the reusable action's repository, else the study's. */
  repo_url: string;
  commit: string;
  study: Study;
  workspace: string;
  action: string;
  /** Whole Unix seconds: when the job was created. */
  created_at: number;
  /** Full image name with tag, e.g. `ghcr.io/opensafely-core/python:v2`. */
  image: string;
  /** The registry content digest (`sha256:…`); null for CANCELJOB, or when digests are not resolved. */
  image_sha: string | null;
  args: string[];
  env: Record<string, string>;
  /** Deprecated; always empty. */
  inputs: string[];
  /** The jobs whose outputs this job reads, in `needs` order. */
  input_job_ids: string[];
  /** `{glob pattern: privacy level}`. */
  output_spec: Record<string, string>;
  allow_database_access: boolean;
  level4_max_csv_rows: number;
  level4_max_filesize: number;
  user: string | null;
  database_name: string | null;
  cpu_count: number | null;
  memory_limit: string | null;
  level4_file_types: string[];
}

/** Stages the agent reports for job tasks (the reference's ExecutorState values). */
export const AgentStage = {
  Preparing: "preparing",
  Prepared: "prepared",
  Executing: "executing",
  Executed: "executed",
  Finalizing: "finalizing",
  Finalized: "finalized",
  Unknown: "unknown",
  Error: "error",
} as const;
export type AgentStage = (typeof AgentStage)[keyof typeof AgentStage];

/**
 * What the agent posts to `POST /{backend}/task/update/` (form field `payload`, JSON). Scheduled tasks report stage
 * `""` and no timestamp.
 */
export interface TaskUpdate {
  task_id: string;
  stage: string;
  results: Record<string, unknown>;
  complete: boolean;
  /** Agent clock, Unix nanoseconds; `""` or null when the agent has none. */
  timestamp_ns: number | "" | null;
}

/** A task as the controller stores it: what was asked of the agent and what it last reported. */
export interface Task {
  id: string;
  backend: string;
  type: TaskType;
  /** The job of a RUNJOB/CANCELJOB task; null for scheduled tasks. */
  jobId: string | null;
  definition: Record<string, unknown>;
  attributes: Record<string, string>;
  active: boolean;
  /** Whole Unix seconds (controller clock). */
  createdAt: number;
  finishedAt: number | null;
  agentStage: string | null;
  agentComplete: boolean;
  agentResults: Record<string, unknown> | null;
  /** Agent clock, Unix nanoseconds. */
  agentTimestampNs: number | null;
  /** When the controller last recorded an update from the agent (whole Unix seconds); null before the first. */
  agentUpdatedAt: number | null;
}

/** RUNJOB task ids are `{job id}-{n:03}`: n counts the job's RUNJOB tasks, so ids sort in creation order. */
export function runJobTaskId(jobId: string, number: number): string {
  return `${jobId}-${String(number).padStart(3, "0")}`;
}

/** The CANCELJOB task for a RUNJOB task. */
export function cancelJobTaskId(runJobTaskId: string): string {
  return `${runJobTaskId}-cancel`;
}

/** The earliest time an agent may report (2000-01-01T00:00:00Z, Unix seconds): nothing of ours ran before. */
export const EARLIEST_AGENT_TIME_S = 946_684_800;
/** How far ahead of the controller's clock an agent's may be: clocks drift by seconds, never by a day. */
export const AGENT_CLOCK_LEEWAY_S = 86_400;
/** The latest time a result field may carry (9999-12-31T23:59:59Z): results are stored, and must stay printable. */
export const LATEST_RESULT_TIME_S = 253_402_300_799;

/** The stages of a job task in the order a job goes through them (reference/agent.md §2.4); `unknown`, `error`
 * and anything else have no place in it. */
const STAGE_ORDER: readonly string[] = [
  AgentStage.Preparing,
  AgentStage.Prepared,
  AgentStage.Executing,
  AgentStage.Executed,
  AgentStage.Finalizing,
  AgentStage.Finalized,
];

/**
 * Why an agent's update must not be applied over what is stored for its task, or null to apply it. Updates can
 * arrive late or out of order (a retried POST, two handlers of one task): a complete task is never un-completed,
 * and an update whose stage goes backwards is dropped. Times are compared only when the stage order cannot tell
 * (the same stage again, or a stage with no place in the order, such as `error`): a stage moving forward is never
 * stale, whatever its time, as stamps come from different clocks and precisions (Slurm's whole seconds for a
 * job's start can fall before the agent's own `prepared` stamp of the same second).
 */
export function staleUpdate(
  stored: Pick<Task, "agentComplete" | "agentStage" | "agentTimestampNs">,
  update: { stage: string; complete: boolean; timestampNs: number | null },
): string | null {
  if (stored.agentComplete && !update.complete) return "the task is complete already";
  const from = STAGE_ORDER.indexOf(stored.agentStage ?? "");
  const to = STAGE_ORDER.indexOf(update.stage);
  const ordered = from >= 0 && to >= 0;
  if (ordered && to > from) return null;
  if (
    update.timestampNs !== null &&
    stored.agentTimestampNs !== null &&
    update.timestampNs < stored.agentTimestampNs
  )
    return "it is older than the last update recorded";
  if (!update.complete && ordered && to < from) return "its stage is behind the last one recorded";
  return null;
}
