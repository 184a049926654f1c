import { type Kysely, sql } from "kysely";
import type { Dialect } from "./dialect.js";

/**
 * `change_seq` on `job` and `tasks`: a number the database writes on every insert and update of a row, so the
 * scheduler reads only the rows written since its last pass (issue 18; src/db/storage.ts ChangeFeed states the
 * contract). Triggers write it, not the code: every writer counts, whatever it runs (an older replica during an
 * upgrade, an operator's SQL), so this is expand-only.
 *
 * - SQLite: a counter (`change_counter`, one row) that every write of either table increments, its new value
 *   written on the row. SQLite has one writer at a time, so values are given in commit order: a reader that noted
 *   the counter before reading has seen every row numbered up to it, and every later write gets a higher number.
 * - PostgreSQL: the id of the writing transaction (`pg_current_xact_id()`). Writers run at once and commit in any
 *   order, so a number alone could be read after a higher one already was (the classic trap of a sequence). A reader
 *   notes instead the oldest transaction still running (`pg_snapshot_xmin`): any write it did not see belongs to a
 *   transaction at least that old, so the next read from there misses nothing. A read-only transaction has no id and
 *   holds nothing back; a long writing one makes the reads re-read its window until it ends, no more.
 *
 * Rows already there keep NULL: a reader starts with a read of every active job and then asks only for what changed.
 */
const TABLES = ["job", "tasks"] as const;

export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  if (dialect === "postgres") {
    await sql`create function rap_change_seq() returns trigger language plpgsql as $$
      begin
        new.change_seq := pg_current_xact_id()::text::bigint;
        return new;
      end $$`.execute(db);
    for (const table of TABLES) {
      await sql`alter table ${sql.table(table)} add column change_seq bigint`.execute(db);
      await sql`create trigger ${sql.raw(`${table}_change_seq`)} before insert or update on ${sql.table(table)}
        for each row execute function rap_change_seq()`.execute(db);
      await sql`create index ${sql.raw(`idx_${table}__change_seq`)} on ${sql.table(table)} (change_seq)`.execute(
        db,
      );
    }
    return;
  }
  await sql`create table change_counter (value integer not null)`.execute(db);
  await sql`insert into change_counter (value) values (0)`.execute(db);
  for (const table of TABLES) {
    await sql`alter table ${sql.table(table)} add column change_seq integer`.execute(db);
    await sql`create index ${sql.raw(`idx_${table}__change_seq`)} on ${sql.table(table)} (change_seq)`.execute(
      db,
    );
    // AFTER triggers (SQLite's BEFORE cannot change the row). The update's own write of change_seq does not fire
    // it again: the WHEN clause, and SQLite's recursive triggers are off.
    const mark = sql.raw(`update change_counter set value = value + 1;
        update "${table}" set change_seq = (select value from change_counter) where seq = new.seq;`);
    await sql`create trigger ${sql.raw(`${table}_change_seq_insert`)} after insert on ${sql.table(table)}
      begin ${mark} end`.execute(db);
    await sql`create trigger ${sql.raw(`${table}_change_seq_update`)} after update on ${sql.table(table)}
      when new.change_seq is old.change_seq begin ${mark} end`.execute(db);
  }
}

export async function down(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  for (const table of TABLES) {
    if (dialect === "postgres")
      await sql`drop trigger ${sql.raw(`${table}_change_seq`)} on ${sql.table(table)}`.execute(db);
    else {
      await sql`drop trigger ${sql.raw(`${table}_change_seq_insert`)}`.execute(db);
      await sql`drop trigger ${sql.raw(`${table}_change_seq_update`)}`.execute(db);
    }
    await sql`drop index ${sql.raw(`idx_${table}__change_seq`)}`.execute(db);
    await sql`alter table ${sql.table(table)} drop column change_seq`.execute(db);
  }
  if (dialect === "postgres") await sql`drop function rap_change_seq()`.execute(db);
  else await sql`drop table change_counter`.execute(db);
}
