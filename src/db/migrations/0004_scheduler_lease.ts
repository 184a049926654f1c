import { type Kysely, sql } from "kysely";

/**
 * What makes more than one scheduler safe (DESIGN DECISIONS 17): the scheduler lease (one row, its holder and when it
 * expires), each job's count of failed handlings (MAX_TASK_RETRIES counts them across passes, restarts and
 * processes), and at most one active scheduled DBSTATUS/DBDATACHECK task per backend, enforced by the database so
 * that creating one is an insert-or-ignore. Portable DDL (SQLite and PostgreSQL).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("scheduler_lease")
    .addColumn("name", "text", (c) => c.primaryKey())
    .addColumn("holder", "text", (c) => c.notNull())
    .addColumn("expires_at_ms", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("job_handling_failures")
    .addColumn("job_id", "text", (c) => c.primaryKey())
    .addColumn("failures", "integer", (c) => c.notNull())
    .execute();
  // Two schedulers racing before this index could have left two active tasks of a kind: keep the first.
  await sql`update tasks set active = 0
    where active = 1 and type in ('dbstatus', 'dbdatacheck') and id not in (
      select min(id) from tasks where active = 1 and type in ('dbstatus', 'dbdatacheck') group by backend, type)`.execute(
    db,
  );
  await sql`create unique index idx_tasks__one_active_scheduled on tasks (backend, type)
    where active = 1 and type in ('dbstatus', 'dbdatacheck')`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex("idx_tasks__one_active_scheduled").execute();
  await db.schema.dropTable("job_handling_failures").execute();
  await db.schema.dropTable("scheduler_lease").execute();
}
