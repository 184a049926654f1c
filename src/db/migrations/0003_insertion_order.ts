import { type Kysely, sql } from "kysely";
import { type Dialect, noFormFor } from "./dialect.js";

/**
 * `seq`: each job's and each task's insertion order as a column, so queries order by it rather than by SQLite's
 * `rowid`, which other databases do not have (PostgreSQL: an identity column). Written by the database alone: on
 * SQLite, existing rows get their rowid and a trigger gives every new row its own, so insertion order stays what it
 * was. No query writes it, and no index is needed: it only breaks ties and orders rows already found.
 */
const TABLES = ["job", "tasks"] as const;

export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  if (dialect !== "sqlite") noFormFor("0003_insertion_order", dialect);
  for (const table of TABLES) {
    await db.schema.alterTable(table).addColumn("seq", "integer").execute();
    await sql`update ${sql.table(table)} set seq = rowid`.execute(db);
    await sql`create trigger ${sql.raw(`${table}__seq`)} after insert on ${sql.table(table)}
      begin update ${sql.table(table)} set seq = new.rowid where rowid = new.rowid; end`.execute(db);
  }
}

export async function down(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  if (dialect !== "sqlite") noFormFor("0003_insertion_order", dialect);
  for (const table of TABLES) {
    await sql`drop trigger ${sql.raw(`${table}__seq`)}`.execute(db);
    await db.schema.alterTable(table).dropColumn("seq").execute();
  }
}
