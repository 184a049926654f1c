import { type Kysely, sql } from "kysely";
import type { Dialect } from "./dialect.js";

/**
 * `seq`: each job's and each task's insertion order as a column, so queries order by it rather than by SQLite's
 * `rowid`, which other databases do not have (PostgreSQL: an identity column). Written by the database alone.
 *
 * On SQLite `seq` is the rowid itself (`integer primary key`), so it costs nothing to keep: the table is rebuilt
 * with every row keeping its rowid, `id` becomes a unique key (a lookup by id went through an index before too),
 * and the indexes are made again as they were. A trigger copying the rowid into a plain column cost a second write
 * of every inserted row. On PostgreSQL `seq` is an identity column; the rows already there are numbered in the
 * order the table holds them.
 */
const TABLES = ["job", "tasks"] as const;

async function schemaOf(db: Kysely<unknown>, table: string): Promise<{ create: string; indexes: string[] }> {
  const { rows } = await sql<{ type: string; sql: string }>`select type, sql from sqlite_master
    where tbl_name = ${table} and sql is not null`.execute(db);
  return {
    create: rows.find((row) => row.type === "table")!.sql,
    indexes: rows.filter((row) => row.type === "index").map((row) => row.sql),
  };
}

async function rebuildWithSeq(db: Kysely<unknown>, table: string): Promise<void> {
  const { create, indexes } = await schemaOf(db, table);
  const { rows } = await sql<{ name: string }>`select name from pragma_table_info(${table})`.execute(db);
  const columns = sql.join(rows.map((row) => sql.ref(row.name)));
  const key = '"id" text primary key';
  if (!create.includes(key)) throw new Error(`${table} does not have the schema 0001 made`);
  const rebuilt = create
    .replace(`CREATE TABLE "${table}"`, `CREATE TABLE "${table}__new"`)
    .replace(key, '"id" text not null unique')
    .replace(/\)$/, ', "seq" integer primary key)');
  await sql.raw(rebuilt).execute(db);
  await sql`insert into ${sql.table(`${table}__new`)} (${columns}, seq)
    select ${columns}, rowid from ${sql.table(table)}`.execute(db);
  await sql`drop table ${sql.table(table)}`.execute(db);
  await sql`alter table ${sql.table(`${table}__new`)} rename to ${sql.table(table)}`.execute(db);
  for (const index of indexes) await sql.raw(index).execute(db);
}

export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  for (const table of TABLES) {
    if (dialect === "postgres")
      await sql`alter table ${sql.table(table)} add column seq bigint generated always as identity`.execute(
        db,
      );
    else await rebuildWithSeq(db, table);
  }
}
