import { sql } from "kysely";
import type { FlagValue } from "../../domain/flags.js";
import { type Db, readDirectly } from "../index.js";

/** Flags of one backend; all of them, or only the named ones. */
export async function getFlags(db: Db, backend: string, ids?: readonly string[]): Promise<FlagValue[]> {
  let query = db.selectFrom("flags").selectAll().where("backend", "=", backend);
  if (ids) {
    if (ids.length === 0) return [];
    query = query.where("id", "in", ids);
  }
  return query.orderBy("id").execute();
}

export async function getFlag(db: Db, backend: string, id: string): Promise<FlagValue | undefined> {
  return db
    .selectFrom("flags")
    .selectAll()
    .where("backend", "=", backend)
    .where("id", "=", id)
    .executeTakeFirst();
}

/**
 * Sets a flag. Setting the value it already has changes nothing, so the timestamp keeps meaning "when this value was
 * set"; a NULL value clears the flag but keeps its row (and a fresh timestamp). One atomic statement.
 */
export async function setFlag(
  db: Db,
  backend: string,
  id: string,
  value: string | null,
  timestamp: number,
): Promise<FlagValue> {
  const written = await db
    .insertInto("flags")
    .values({ id, backend, value, timestamp })
    .onConflict((oc) =>
      oc
        .columns(["id", "backend"])
        .doUpdateSet({
          value: (eb) => eb.ref("excluded.value"),
          timestamp: (eb) => eb.ref("excluded.timestamp"),
        })
        .where(sql<boolean>`flags.value is distinct from excluded.value`),
    )
    .returningAll()
    .executeTakeFirst();
  // No row comes back when the flag already had this value (nothing was written); the Task API's last-seen write
  // on every agent poll always changes it, so reads nothing more.
  return written ?? (await getFlag(db, backend, id))!;
}

/**
 * A reader for the named flags of every backend, compiled once: `GET backend/status/` runs it on every request
 * (job-server polls it, and so do monitors), and building and compiling the query each time would cost more than
 * running it; it runs without Kysely when it can (`readDirectly`). The flags table holds a handful of rows per
 * backend, so callers filter backends themselves.
 */
export function flagsReader(db: Db, ids: readonly string[]): () => Promise<readonly FlagValue[]> {
  const query = db
    .selectFrom("flags")
    .select(["id", "backend", "value", "timestamp"])
    .where("id", "in", ids)
    .compile();
  return async () => readDirectly(db, query) ?? (await db.executeQuery(query)).rows;
}
