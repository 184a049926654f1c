import { type Kysely, sql } from "kysely";
import type { Dialect } from "./dialect.js";

/**
 * PostgreSQL: the job_metrics of a task's results in a column of their own, which the server writes whenever
 * agent_results is written (a stored generated column), so `POST rap/status/` reads each job's metrics without
 * parsing its latest task's results document: for 10,955 jobs that parse was about a third of the statement's time.
 * The server computes it, so older replicas writing results during an upgrade fill it too (expand-only). SQLite
 * has the expression index of 0002 for the same purpose, and no such column.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  if (dialect !== "postgres") return;
  await sql`alter table tasks add column job_metrics text
    generated always as ((agent_results::json -> 'job_metrics')::text) stored`.execute(db);
}

export async function down(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  if (dialect === "postgres") await sql`alter table tasks drop column job_metrics`.execute(db);
}
