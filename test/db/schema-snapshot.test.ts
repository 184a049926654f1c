/**
 * The schema every migration together gives an SQLite database, compared with the committed schema.sqlite.sql: a
 * change to a migration, or a new one, shows in review as a change to that file (`npx vitest run -u` rewrites it).
 * Existing databases carry the schema their migrations made, so a migration must never change after release.
 */
import { sql } from "kysely";
import { expect, test } from "vitest";
import { openTestDatabase } from "../support/db.js";

test("the migrated SQLite schema is the committed one", async () => {
  const database = await openTestDatabase();
  try {
    const { rows } = await sql<{ sql: string }>`select sql from sqlite_master
      where sql is not null and name not like 'sqlite\\_%' escape '\\'
      order by case type when 'table' then 0 when 'index' then 1 else 2 end, name`.execute(database.db);
    await expect(`${rows.map((row) => `${row.sql};`).join("\n\n")}\n`).toMatchFileSnapshot(
      "./schema.sqlite.sql",
    );
  } finally {
    await database.close();
  }
});
