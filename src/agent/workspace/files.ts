/** File operations the workspace code shares: atomic writes and copies (a reader never sees half a file). */
import { createHash } from "node:crypto";
import type { Stats } from "node:fs";
import { type FileHandle, mkdir, open, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { AgentError } from "../errors.js";

/**
 * Where a write of `dest` puts its contents before the rename: `.{16 hex}.tmp` beside dest (same filesystem, so
 * the rename is atomic), the hex from dest's name. A fixed length, so a name of 255 bytes still has one; and the
 * same for every write of dest, so what a killed write left is overwritten and renamed away by the next one.
 */
export function temporaryPath(dest: string): string {
  const tag = createHash("sha256").update(basename(dest)).digest("hex").slice(0, 16);
  return join(dirname(dest), `.${tag}.tmp`);
}

/** Writes of one destination in flight, so two never share its temporary file. */
const writing = new Map<string, Promise<void>>();

/**
 * `fill` writes the temporary file, which then replaces dest; on failure the temporary file is removed. Creates
 * parent dirs. Writes of the same dest from this process wait for each other.
 */
async function replaceAtomically<T>(dest: string, fill: (tmp: string) => Promise<T>): Promise<T> {
  const previous = writing.get(dest) ?? Promise.resolve();
  const run = previous.then(async () => {
    await mkdir(dirname(dest), { recursive: true });
    const tmp = temporaryPath(dest);
    try {
      const result = await fill(tmp);
      await rename(tmp, dest);
      return result;
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
  });
  const settled = run.then(
    () => undefined,
    () => undefined,
  );
  writing.set(dest, settled);
  try {
    return await run;
  } finally {
    if (writing.get(dest) === settled) writing.delete(dest);
  }
}

export async function writeFileAtomic(dest: string, contents: string | Uint8Array): Promise<void> {
  await replaceAtomically(dest, (tmp) => writeFile(tmp, contents));
}

export interface CopiedFile {
  /** The copy's stat, which the manifest needs (size, mtime), so it is not asked for twice. */
  readonly stats: Stats;
  /** The contents' sha256 in hex, computed while copying. */
  readonly sha256: string;
}

/** Copies `source` (a regular file; a symlink is followed) to dest atomically and sparsely (copySparse). */
export function copyFileAtomic(source: string, dest: string): Promise<CopiedFile> {
  return replaceAtomically(dest, (tmp) => copySparse(source, tmp));
}

const COPY_CHUNK = 1024 * 1024;
const BLOCK = 4096;
const ZERO_BLOCK = Buffer.alloc(BLOCK);

/**
 * Copies source to dest (created with source's permissions) block by block, leaving every all-zero 4 KiB block a
 * hole: a sparse output stays sparse instead of becoming real disk (Node has no SEEK_DATA, and copyFile fills
 * holes). Hashes the contents on the way. Few system calls per file, as a job may have thousands of small ones.
 */
async function copySparse(source: string, dest: string): Promise<CopiedFile> {
  const hash = createHash("sha256");
  const input = await open(source, "r");
  try {
    const { mode, size } = await input.stat();
    const output = await open(dest, "w", mode & 0o777);
    try {
      // No bigger than the file: a megabyte for each of a thousand small outputs costs more than the copying.
      const buffer = Buffer.allocUnsafe(Math.max(BLOCK, Math.min(COPY_CHUNK, size)));
      let position = 0;
      let writtenTo = 0;
      for (;;) {
        const { bytesRead } = await input.read(buffer, 0, buffer.length, position);
        const chunk = buffer.subarray(0, bytesRead);
        hash.update(chunk);
        writtenTo = Math.max(writtenTo, await writeDataBlocks(output, chunk, position));
        position += bytesRead;
        // A short read of a local regular file is its end.
        if (bytesRead < buffer.length) break;
      }
      // A file ending in a hole gets its length here.
      if (writtenTo < position) await output.truncate(position);
      return { stats: await output.stat(), sha256: hash.digest("hex") };
    } finally {
      await output.close();
    }
  } finally {
    await input.close();
  }
}

/**
 * Writes the runs of blocks of `chunk` that are not all zero at their place in the file. Returns the file offset
 * the last write ended at (0 for none).
 */
async function writeDataBlocks(output: FileHandle, chunk: Buffer, position: number): Promise<number> {
  let runStart = -1;
  let end = 0;
  const flush = async (runEnd: number) => {
    if (runStart >= 0) {
      await output.write(chunk, runStart, runEnd - runStart, position + runStart);
      end = position + runEnd;
    }
    runStart = -1;
  };
  for (let offset = 0; offset < chunk.length; offset += BLOCK) {
    const block = chunk.subarray(offset, offset + BLOCK);
    if (block.equals(ZERO_BLOCK.subarray(0, block.length))) await flush(offset);
    else if (runStart < 0) runStart = offset;
  }
  await flush(chunk.length);
  return end;
}

/** The disk (or the user's quota) is full: no job can fix that, the operator must. */
export function isDiskFull(error: unknown): boolean {
  return isErrno(error, "ENOSPC") || isErrno(error, "EDQUOT");
}

/** Saving a job's outputs ran out of disk space (or quota) at `path`. */
export class WorkspaceDiskFullError extends AgentError {
  override readonly code = "WORKSPACE_DISK_FULL";
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    super(`No space left to save outputs at ${path}`, { cause });
  }
}

export function isErrno(error: unknown, code: string): boolean {
  return typeof error === "object" && error !== null && (error as NodeJS.ErrnoException).code === code;
}

/** For `.catch(...)`: answers `value` when the error has this code and rethrows anything else. */
export function orIf<T>(code: string, value: T): (error: unknown) => T {
  return (error) => {
    if (isErrno(error, code)) return value;
    throw error;
  };
}

/** For `.catch(...)`: answers `value` when the path is not there (ENOENT) and rethrows anything else. */
export function orIfMissing<T>(value: T): (error: unknown) => T {
  return orIf("ENOENT", value);
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
