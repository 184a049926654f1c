/** File operations the workspace code shares: atomic writes and copies (a reader never sees half a file). */
import { randomBytes } from "node:crypto";
import { copyFile, mkdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

function tmpPath(dest: string): string {
  return `${dest}.${randomBytes(8).toString("hex")}.tmp`;
}

/** Writes `contents` to `{dest}.{16 hex}.tmp` beside dest, then renames it over dest. Creates parent dirs. */
export async function writeFileAtomic(dest: string, contents: string | Uint8Array): Promise<void> {
  await mkdir(dirname(dest), { recursive: true });
  const tmp = tmpPath(dest);
  try {
    await writeFile(tmp, contents);
    await rename(tmp, dest);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/** Copies `source` (a regular file; a symlink is followed) to dest atomically. Returns the size copied. */
export async function copyFileAtomic(source: string, dest: string): Promise<number> {
  await mkdir(dirname(dest), { recursive: true });
  const tmp = tmpPath(dest);
  try {
    await copyFile(source, tmp);
    await rename(tmp, dest);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  return (await stat(dest)).size;
}

export async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
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
