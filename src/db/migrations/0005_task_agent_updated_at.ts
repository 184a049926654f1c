import { type Kysely, sql } from "kysely";
import type { Dialect } from "./dialect.js";

/**
 * When the controller last heard from an agent about a task (whole Unix seconds, controller clock; NULL until the
 * first update): the scheduler fails a running job whose task has been silent for TASK_SILENCE_TIMEOUT while its
 * agent kept polling (issue 14). `agent_timestamp_ns` cannot tell: it is the agent's clock, and an executing job's
 * repeated update carries the container's start time. Numbered 0005: 0003 and 0004 are taken by work in progress.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  // SQLite's integer is 64 bits; PostgreSQL's is 32, which Unix seconds outgrow in 2038.
  const type = dialect === "postgres" ? sql`bigint` : sql`integer`;
  await sql`alter table tasks add column agent_updated_at ${type}`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table tasks drop column agent_updated_at`.execute(db);
}
