import { type Kysely, sql } from "kysely";
import type { Dialect } from "./dialect.js";

/**
 * An index that answers "the job_metrics of this job's latest RUNJOB task" (src/db/sqlite/rap-status.ts) on its
 * own: `POST rap/status/` asks that for every job it shows, and reading each task row and parsing its results
 * document was most of the endpoint's time. The expressions must stay exactly those of the query for SQLite to use
 * it. PostgreSQL (src/db/postgres/status-source.ts) finds the task through the index and reads its row: a json
 * expression cannot be indexed there (json has no equality), and jsonb would reorder the metrics' keys.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  if (dialect === "postgres") {
    await sql`create index idx_tasks__latest_metrics on tasks (job_id, type, length(id), id collate "C")`.execute(
      db,
    );
    return;
  }
  await sql`create index idx_tasks__latest_metrics on tasks
    (job_id, type, length(id), id, (agent_results -> '$.job_metrics'))`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex("idx_tasks__latest_metrics").execute();
}
