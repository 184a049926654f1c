import type { FlagValue } from "../../domain/flags.js";
import { type Db, readDirectly } from "../index.js";

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
