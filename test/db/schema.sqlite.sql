CREATE TABLE change_counter (value integer not null);

CREATE TABLE "flags" ("id" text not null, "backend" text not null, "value" text, "timestamp" double precision not null, constraint "flags_pk" primary key ("id", "backend"));

CREATE TABLE "job" ("id" text not null unique, "rap_id" text not null, "state" text not null, "repo_url" text not null, "commit" text not null, "workspace" text not null, "database_name" text not null, "action" text not null, "action_repo_url" text, "action_commit" text, "requires_outputs_from" text not null, "wait_for_job_ids" text not null, "run_command" text not null, "image_id" text, "output_spec" text not null, "outputs" text, "unmatched_outputs" text, "level4_excluded_files" text, "status_message" text, "status_code" text not null, "cancelled" integer, "created_at" bigint not null, "updated_at" bigint not null, "started_at" bigint, "completed_at" bigint, "trace_context" text, "status_code_updated_at" bigint not null, "requires_db" integer not null, "backend" text not null, "branch" text not null, "user" text not null, "project" text not null, "orgs" text not null, "analysis_scope" text not null, "seq" integer primary key, change_seq integer);

CREATE TABLE "job_handling_failures" ("job_id" text primary key, "failures" integer not null);

CREATE TABLE "kysely_migration" ("name" varchar(255) not null primary key, "timestamp" varchar(255) not null);

CREATE TABLE "kysely_migration_lock" ("id" varchar(255) not null primary key, "is_locked" integer default 0 not null);

CREATE TABLE "scheduler_lease" ("name" text primary key, "holder" text not null, "expires_at_ms" bigint not null);

CREATE TABLE "tasks" ("id" text not null unique, "backend" text not null, "type" text not null, "job_id" text, "definition" text not null, "active" integer not null, "created_at" bigint not null, "finished_at" bigint, "attributes" text not null, "agent_stage" text, "agent_complete" integer default 0 not null, "agent_results" text, "agent_timestamp_ns" bigint, "seq" integer primary key, agent_updated_at integer, change_seq integer);

CREATE INDEX "idx_job__backend_workspace" on "job" ("backend", "workspace", "action", "created_at");

CREATE INDEX idx_job__change_seq on "job" (change_seq);

CREATE INDEX "idx_job__rap_id" on "job" ("rap_id");

CREATE INDEX "idx_job__state" on "job" ("state") where "state" not in ('failed', 'succeeded');

CREATE INDEX "idx_tasks__backend_active" on "tasks" ("backend", "active");

CREATE INDEX idx_tasks__change_seq on "tasks" (change_seq);

CREATE INDEX "idx_tasks__job_id" on "tasks" ("job_id");

CREATE INDEX idx_tasks__latest_metrics on tasks
    (job_id, type, length(id), id, (agent_results -> '$.job_metrics'));

CREATE UNIQUE INDEX idx_tasks__one_active_scheduled on tasks (backend, type)
    where active = 1 and type in ('dbstatus', 'dbdatacheck');

CREATE TRIGGER job_change_seq_insert after insert on "job"
      begin update change_counter set value = value + 1;
        update "job" set change_seq = (select value from change_counter) where seq = new.seq; end;

CREATE TRIGGER job_change_seq_update after update on "job"
      when new.change_seq is old.change_seq begin update change_counter set value = value + 1;
        update "job" set change_seq = (select value from change_counter) where seq = new.seq; end;

CREATE TRIGGER tasks_change_seq_insert after insert on "tasks"
      begin update change_counter set value = value + 1;
        update "tasks" set change_seq = (select value from change_counter) where seq = new.seq; end;

CREATE TRIGGER tasks_change_seq_update after update on "tasks"
      when new.change_seq is old.change_seq begin update change_counter set value = value + 1;
        update "tasks" set change_seq = (select value from change_counter) where seq = new.seq; end;
