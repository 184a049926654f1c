/** File operations the workspace code shares: atomic writes and copies (a reader never sees half a file). */
import { randomBytes } from "node:crypto";
import type { Stats } from "node:fs";
import { copyFile, mkdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

/**
 * `fill` writes `{dest}.{16 hex}.tmp` beside dest (same filesystem, so the rename is atomic), which then replaces
 * dest; on failure the temporary file is removed. Creates parent dirs.
 */
async function replaceAtomically(dest: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  await mkdir(dirname(dest), { recursive: true });
  const tmp = `${dest}.${randomBytes(8).toString("hex")}.tmp`;
  try {
    await fill(tmp);
    await rename(tmp, dest);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

export async function writeFileAtomic(dest: string, contents: string | Uint8Array): Promise<void> {
  await replaceAtomically(dest, (tmp) => writeFile(tmp, contents));
}

/**
 * Copies `source` (a regular file; a symlink is followed) to dest atomically. Returns the copy's stat, which the
 * manifest needs (size, mtime), so it is not asked for twice.
 */
export async function copyFileAtomic(source: string, dest: string): Promise<Stats> {
  await replaceAtomically(dest, (tmp) => copyFile(source, tmp));
  return stat(dest);
}

export function isErrno(error: unknown, code: string): boolean {
  return typeof error === "object" && error !== null && (error as NodeJS.ErrnoException).code === code;
}

/** For `.catch(...)`: answers `value` when the path is not there (ENOENT) and rethrows anything else. */
export function orIfMissing<T>(value: T): (error: unknown) => T {
  return (error) => {
    if (isErrno(error, "ENOENT")) return value;
    throw error;
  };
}

export function pathExists(path: string): Promise<boolean> {
  return stat(path).then(() => true, orIfMissing(false));
}

/**
 * How many files a job's inputs or outputs are copied and hashed at once: one at a time, each file's few system
 * calls wait in turn, and a job with a thousand files spends seconds on latency alone.
 */
export const FILE_CONCURRENCY = 16;

/**
 * `task` for every item, at most `limit` at a time; the results in the items' order. After a failure no new task
 * starts; once the tasks in flight have settled, the failure of the earliest item is thrown.
 */
export async function mapConcurrently<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  const failures = new Map<number, unknown>();
  let next = 0;
  const worker = async () => {
    while (next < items.length && failures.size === 0) {
      const index = next++;
      try {
        results[index] = await task(items[index]!);
      } catch (error) {
        failures.set(index, error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failures.size > 0) throw failures.get(Math.min(...failures.keys()));
  return results;
}
