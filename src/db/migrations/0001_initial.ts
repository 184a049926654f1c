import { type Kysely, sql } from "kysely";

/** The reference schema at its migration 13, plus tasks.job_id. Portable DDL only (SQLite and PostgreSQL). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("job")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("rap_id", "text", (c) => c.notNull())
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("repo_url", "text", (c) => c.notNull())
    .addColumn("commit", "text", (c) => c.notNull())
    .addColumn("workspace", "text", (c) => c.notNull())
    .addColumn("database_name", "text", (c) => c.notNull())
    .addColumn("action", "text", (c) => c.notNull())
    .addColumn("action_repo_url", "text")
    .addColumn("action_commit", "text")
    .addColumn("requires_outputs_from", "text", (c) => c.notNull())
    .addColumn("wait_for_job_ids", "text", (c) => c.notNull())
    .addColumn("run_command", "text", (c) => c.notNull())
    .addColumn("image_id", "text")
    .addColumn("output_spec", "text", (c) => c.notNull())
    .addColumn("outputs", "text")
    .addColumn("unmatched_outputs", "text")
    .addColumn("level4_excluded_files", "text")
    .addColumn("status_message", "text")
    .addColumn("status_code", "text", (c) => c.notNull())
    .addColumn("cancelled", "integer")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addColumn("started_at", "bigint")
    .addColumn("completed_at", "bigint")
    .addColumn("trace_context", "text")
    .addColumn("status_code_updated_at", "bigint", (c) => c.notNull())
    .addColumn("requires_db", "integer", (c) => c.notNull())
    .addColumn("backend", "text", (c) => c.notNull())
    .addColumn("branch", "text", (c) => c.notNull())
    .addColumn("user", "text", (c) => c.notNull())
    .addColumn("project", "text", (c) => c.notNull())
    .addColumn("orgs", "text", (c) => c.notNull())
    .addColumn("analysis_scope", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("idx_job__rap_id").on("job").column("rap_id").execute();
  // Only active jobs are scanned by the scheduler; a partial index keeps that cheap as history grows.
  await db.schema
    .createIndex("idx_job__state")
    .on("job")
    .column("state")
    .where(sql.ref("state"), "not in", ["failed", "succeeded"])
    .execute();
  // Workspace state: the latest uncancelled job per action for a backend and workspace.
  await db.schema
    .createIndex("idx_job__backend_workspace")
    .on("job")
    .columns(["backend", "workspace", "action", "created_at"])
    .execute();

  await db.schema
    .createTable("tasks")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("backend", "text", (c) => c.notNull())
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("job_id", "text")
    .addColumn("definition", "text", (c) => c.notNull())
    .addColumn("active", "integer", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("finished_at", "bigint")
    .addColumn("attributes", "text", (c) => c.notNull())
    .addColumn("agent_stage", "text")
    .addColumn("agent_complete", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("agent_results", "text")
    .addColumn("agent_timestamp_ns", "bigint")
    .execute();
  await db.schema.createIndex("idx_tasks__job_id").on("tasks").column("job_id").execute();
  await db.schema
    .createIndex("idx_tasks__backend_active")
    .on("tasks")
    .columns(["backend", "active"])
    .execute();

  await db.schema
    .createTable("flags")
    .addColumn("id", "text", (c) => c.notNull())
    .addColumn("backend", "text", (c) => c.notNull())
    .addColumn("value", "text")
    .addColumn("timestamp", "double precision", (c) => c.notNull())
    .addPrimaryKeyConstraint("flags_pk", ["id", "backend"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("flags").execute();
  await db.schema.dropTable("tasks").execute();
  await db.schema.dropTable("job").execute();
}
