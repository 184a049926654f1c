/**
 * Table types for Kysely: one interface per table, columns exactly as stored. Columns and meanings follow the
 * reference (reference/controller.md §1); JSON columns are text, booleans are 0/1 integers, job times are whole Unix
 * seconds except `status_code_updated_at` (nanoseconds), and flag timestamps are fractional Unix seconds.
 * Mapping to domain objects happens in queries/*, never in callers.
 */
import type { ColumnType } from "kysely";

type Json = string;
type Bool = number;

export interface JobTable {
  id: string;
  rap_id: string;
  state: string;
  repo_url: string;
  commit: string;
  workspace: string;
  database_name: string;
  action: string;
  action_repo_url: string | null;
  action_commit: string | null;
  requires_outputs_from: Json;
  wait_for_job_ids: Json;
  run_command: string;
  /** Legacy columns: kept so the schema matches the reference, never written. */
  image_id: ColumnType<string | null, never, never>;
  output_spec: Json;
  outputs: ColumnType<Json | null, never, never>;
  unmatched_outputs: ColumnType<Json | null, never, never>;
  level4_excluded_files: ColumnType<Json | null, never, never>;
  status_message: string | null;
  status_code: string;
  cancelled: Bool | null;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  completed_at: number | null;
  trace_context: Json | null;
  status_code_updated_at: number;
  requires_db: Bool;
  backend: string;
  branch: string;
  user: string;
  project: string;
  orgs: Json;
  analysis_scope: Json;
  /** Insertion order (migration 0003): written by the database alone, read to order rows and break ties. */
  seq: ColumnType<number, never, never>;
  /** Which write last changed the row (migration 0007): written by triggers alone; NULL for rows older than it. */
  change_seq: ColumnType<number | null, never, never>;
}

export interface TaskTable {
  id: string;
  backend: string;
  type: string;
  /** The job a RUNJOB/CANCELJOB task belongs to (NULL for scheduled tasks). Ours: lets status look tasks up by job. */
  job_id: string | null;
  definition: Json;
  active: Bool;
  created_at: number;
  finished_at: number | null;
  attributes: Json;
  agent_stage: string | null;
  agent_complete: Bool;
  agent_results: Json | null;
  agent_timestamp_ns: number | null;
  /** When the controller last recorded an agent update (Unix seconds); ours (migration 0005). */
  agent_updated_at: number | null;
  /** Insertion order (migration 0003), as job.seq. */
  seq: ColumnType<number, never, never>;
  /** Which write last changed the row (migration 0007), as job.change_seq. */
  change_seq: ColumnType<number | null, never, never>;
}

export interface FlagTable {
  id: string;
  backend: string;
  value: string | null;
  timestamp: number;
}

/** The scheduler lease (migration 0004): one row per lease name; `expires_at_ms` in Unix milliseconds. */
export interface SchedulerLeaseTable {
  name: string;
  holder: string;
  expires_at_ms: number;
}

/** How many handlings of a job failed in a row (MAX_TASK_RETRIES); no row when none did. */
export interface JobHandlingFailureTable {
  job_id: string;
  failures: number;
}

export interface Database {
  job: JobTable;
  tasks: TaskTable;
  flags: FlagTable;
  scheduler_lease: SchedulerLeaseTable;
  job_handling_failures: JobHandlingFailureTable;
}
