/**
 * A batch of file copies made with synchronous system calls, run by the file worker (file-worker.ts) off the
 * agent's event loop. Each file is copied block by block with every all-zero 4 KiB block left a hole, and hashed on
 * the way; into its place through its temporary name and a rename (temporaryPath), unless the batch writes where
 * nobody reads yet. A thousand small files are a few system calls each, with no thread hand-over between them.
 */
import { createHash } from "node:crypto";
import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";
import { temporaryPath } from "./temporary-path.js";

/** Where a file was listed: the copy must read that very file. */
export interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
}

export interface CopyItem {
  readonly source: string;
  readonly dest: string;
  /**
   * The source as a listing saw it. Given, the source is opened without following a symlink at its end and must be
   * the same file (device and inode), else the copy fails with SOURCE_CHANGED: a job's volume is read only through
   * what its listing checked.
   */
  readonly expect?: FileIdentity;
}

export interface CopiedFile {
  /** The copy's size and mtime (ms), which the manifest records, and its permission bits. */
  readonly size: number;
  readonly mtimeMs: number;
  readonly mode: number;
  /** The contents' sha256 in hex. */
  readonly sha256: string;
}

/** A failed copy as an errno error's fields (it crosses to the main thread as data). */
export interface CopyFailure {
  readonly code: string | undefined;
  readonly message: string;
  readonly path: string | undefined;
}

export type CopyOutcome = { readonly copied: CopiedFile } | { readonly failed: CopyFailure };

/** The failure code of a source that is no longer the file its listing saw. */
export const SOURCE_CHANGED = "ESOURCECHANGED";

const CHUNK = 1024 * 1024;
const BLOCK = 4096;
const ZERO_BLOCK = Buffer.alloc(BLOCK);
const buffer = Buffer.allocUnsafe(CHUNK);

export interface CopyOptions {
  /** Failure codes after which the batch goes on (the failure is recorded); any other ends it. */
  readonly continueOn: readonly string[];
  /**
   * Write each file at its place directly, without the temporary name and rename: only where nothing reads the
   * files until a later mark says they are all there (a job's volume, until its timestamp file is written).
   */
  readonly inPlace: boolean;
}

/** Copies the items in order; the outcomes stop at a failure that ends the batch. */
export function copyBatchSync(items: readonly CopyItem[], options: CopyOptions): CopyOutcome[] {
  const made = new Set<string>();
  const outcomes: CopyOutcome[] = [];
  for (const item of items) {
    try {
      outcomes.push({ copied: copyOne(item, made, options.inPlace) });
    } catch (error) {
      const { code, message, path } = error as NodeJS.ErrnoException;
      outcomes.push({ failed: { code, message, path } });
      if (!options.continueOn.includes(code ?? "")) break;
    }
  }
  return outcomes;
}

function copyOne(item: CopyItem, made: Set<string>, inPlace: boolean): CopiedFile {
  const dir = dirname(item.dest);
  // Every file of a directory shares one mkdir.
  if (!made.has(dir)) {
    mkdirSync(dir, { recursive: true });
    made.add(dir);
  }
  if (inPlace) return copySparse(item, item.dest);
  const tmp = temporaryPath(item.dest);
  try {
    const copied = copySparse(item, tmp);
    renameSync(tmp, item.dest);
    return copied;
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

/** Copies item's source to dest (created with the source's permissions), leaving all-zero blocks as holes. */
function copySparse(item: CopyItem, dest: string): CopiedFile {
  const input = openSource(item);
  try {
    const { mode, dev, ino } = fstatSync(input);
    if (item.expect && (dev !== item.expect.dev || ino !== item.expect.ino)) throw sourceChanged(item);
    const hash = createHash("sha256");
    const output = openSync(dest, "w", mode & 0o777);
    try {
      let position = 0;
      let writtenTo = 0;
      for (;;) {
        const bytesRead = readSync(input, buffer, 0, CHUNK, position);
        const chunk = buffer.subarray(0, bytesRead);
        hash.update(chunk);
        writtenTo = Math.max(writtenTo, writeDataBlocks(output, chunk, position));
        position += bytesRead;
        // A short read of a local regular file is its end.
        if (bytesRead < CHUNK) break;
      }
      // A file ending in a hole gets its length here.
      if (writtenTo < position) ftruncateSync(output, position);
      const stats = fstatSync(output);
      return { size: stats.size, mtimeMs: stats.mtimeMs, mode: stats.mode, sha256: hash.digest("hex") };
    } finally {
      closeSync(output);
    }
  } finally {
    closeSync(input);
  }
}

/** The source, opened; one listed must not have become a symlink (ELOOP with O_NOFOLLOW). */
function openSource(item: CopyItem): number {
  if (!item.expect) return openSync(item.source, "r");
  try {
    return openSync(item.source, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    throw (error as NodeJS.ErrnoException).code === "ELOOP" ? sourceChanged(item) : error;
  }
}

function sourceChanged(item: CopyItem): Error {
  return Object.assign(new Error(`${item.source} is not the file that was listed`), {
    code: SOURCE_CHANGED,
    path: item.source,
  });
}

/** Writes the runs of blocks of `chunk` that are not all zero at their place; the offset the last write ended at. */
function writeDataBlocks(output: number, chunk: Buffer, position: number): number {
  let runStart = -1;
  let end = 0;
  const flush = (runEnd: number) => {
    if (runStart >= 0) {
      writeAll(output, chunk.subarray(runStart, runEnd), position + runStart);
      end = position + runEnd;
    }
    runStart = -1;
  };
  for (let offset = 0; offset < chunk.length; offset += BLOCK) {
    const block = chunk.subarray(offset, offset + BLOCK);
    if (block.equals(ZERO_BLOCK.subarray(0, block.length))) flush(offset);
    else if (runStart < 0) runStart = offset;
  }
  flush(chunk.length);
  return end;
}

function writeAll(output: number, data: Buffer, position: number): void {
  let done = 0;
  while (done < data.length) done += writeSync(output, data, done, data.length - done, position + done);
}
