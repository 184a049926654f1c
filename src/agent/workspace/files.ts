/** File operations the workspace code shares: atomic writes and copies (a reader never sees half a file). */
import { mkdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { AgentError } from "../errors.js";
import type { CopiedFile, CopyItem, CopyOptions, CopyOutcome } from "./copy-sync.js";
import { errnoError, onFileWorker } from "./file-workers.js";
import { temporaryPath } from "./temporary-path.js";

export type { CopiedFile, CopyItem } from "./copy-sync.js";
export { temporaryPath } from "./temporary-path.js";

/** Writes of one destination in flight, so two never share its temporary file. */
const writing = new Map<string, Promise<void>>();

/**
 * Runs `write` once every earlier write of any of `dests` from this process has settled, and makes later writes
 * of them wait for it.
 */
async function exclusively<T>(dests: readonly string[], write: () => Promise<T>): Promise<T> {
  const earlier = dests.flatMap((dest) => writing.get(dest) ?? []);
  const run = (earlier.length > 0 ? Promise.all(earlier) : Promise.resolve()).then(write);
  const settled = run.then(
    () => undefined,
    () => undefined,
  );
  for (const dest of dests) writing.set(dest, settled);
  try {
    return await run;
  } finally {
    for (const dest of dests) if (writing.get(dest) === settled) writing.delete(dest);
  }
}

/** Writes dest through its temporary file and a rename; creates parent dirs. */
export async function writeFileAtomic(dest: string, contents: string | Uint8Array): Promise<void> {
  await exclusively([dest], async () => {
    await mkdir(dirname(dest), { recursive: true });
    const tmp = temporaryPath(dest);
    try {
      await writeFile(tmp, contents);
      await rename(tmp, dest);
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
  });
}

/**
 * Copies each item's source (a regular file; a symlink is followed unless the item expects a listed file) to its
 * dest, atomically and sparsely, hashing it on the way (copy-sync.ts), on a worker thread. An outcome per item, up
 * to and including the first failure whose code is not in `continueOn`.
 */
export function copyFilesAtomic(
  items: readonly CopyItem[],
  continueOn: readonly string[] = [],
): Promise<CopyOutcome[]> {
  return copyFiles(items, { continueOn, inPlace: false });
}

/**
 * Copies as copyFilesAtomic does, or with `inPlace` straight to each dest (CopyOptions: only where nothing reads
 * until a later mark). Writes of the same dest from this process wait for each other.
 */
export function copyFiles(items: readonly CopyItem[], options: CopyOptions): Promise<CopyOutcome[]> {
  if (items.length === 0) return Promise.resolve([]);
  return exclusively(
    items.map((item) => item.dest),
    () => onFileWorker({ op: "copy", items, options }),
  );
}

/** Copies one file as copyFilesAtomic does; a failure is thrown as the errno error it was. */
export async function copyFileAtomic(source: string, dest: string): Promise<CopiedFile> {
  const [outcome] = await copyFilesAtomic([{ source, dest }]);
  if (outcome === undefined) throw new Error(`no copy of ${source} was made`);
  if ("failed" in outcome) throw errnoError(outcome.failed);
  return outcome.copied;
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
