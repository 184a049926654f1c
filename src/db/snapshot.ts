/**
 * `rap snapshot-db`: a consistent copy of a live SQLite database, taken with SQLite's online backup while the
 * server keeps running (reference/controller.md §10 `snapshot_database`). The copy is written under a temporary
 * name beside the target and renamed into place, so the target is never a half-written file.
 */
import { existsSync } from "node:fs";
import { rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import SqliteDatabase from "better-sqlite3";

export class SnapshotRefusedError extends Error {
  readonly code = "SNAPSHOT_REFUSED";
}

/** Copies the database at `source` to `target`; refuses an existing target unless `force`. Returns its size. */
export async function snapshotSqlite(source: string, target: string, force = false): Promise<number> {
  if (existsSync(target) && !force) {
    throw new SnapshotRefusedError(`${target} already exists: choose another name, or --force to replace it`);
  }
  if (!existsSync(dirname(target)))
    throw new SnapshotRefusedError(`directory ${dirname(target)} does not exist`);
  const temporary = join(dirname(target), `.${basename(target)}.${process.pid}.tmp`);
  const database = new SqliteDatabase(source, { readonly: true, fileMustExist: true });
  try {
    await database.backup(temporary);
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  } finally {
    database.close();
  }
  return (await stat(target)).size;
}
