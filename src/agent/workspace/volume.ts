/**
 * A job's volume: a directory bind-mounted at /workspace (reference/agent.md §3.2). The job writes anything it
 * likes into it, symlinks included, so everything read back out is checked to stay inside it: a symlink that
 * leads outside the volume is never listed as an output and never followed when copying.
 */
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { errnoError, onFileWorker } from "./file-workers.js";
import { copyFiles } from "./files.js";
import { within } from "./paths.js";
import type { VolumeFile } from "./volume-listing.js";

const TIMESTAMP_FILE = ".opensafely-timestamp";

export type { ListedSource, VolumeFile } from "./volume-listing.js";

export async function createVolume(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
}

export async function volumeExists(dir: string): Promise<boolean> {
  try {
    return (await stat(dir)).isDirectory();
  } catch {
    return false;
  }
}

/** Writes `.opensafely-timestamp` (Unix ns): the mark of a prepared job and the reference time for "new files". */
export async function writeTimestamp(dir: string, nowNs: bigint): Promise<void> {
  await writeFile(join(dir, TIMESTAMP_FILE), String(nowNs));
}

/** The timestamp in ns, the file's ctime when it is empty, or null when there is no such file. */
export async function readTimestamp(dir: string): Promise<number | null> {
  const path = join(dir, TIMESTAMP_FILE);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return null;
  }
  if (text.trim() === "") return Number((await stat(path, { bigint: true })).ctimeNs);
  const value = Number(text.trim());
  return Number.isFinite(value) ? value : null;
}

/**
 * Everything in the volume, depth first, names sorted (by bytes) within a directory, listed on a file worker
 * (listVolumeSync). Symlinked directories are not entered; a symlink counts as a file only when it resolves to a
 * regular file inside the volume. A name that is not valid UTF-8 (and everything below it) is listed with
 * `rawPath`, its symlinks not followed.
 */
export function listVolume(dir: string): Promise<VolumeFile[]> {
  return onFileWorker({ op: "list", dir });
}

/**
 * Files whose mtime is later than the timestamp file's (what the job wrote), as relative paths; names that are
 * not valid UTF-8 left out (they cannot be named in JSON).
 */
export function newerFiles(entries: readonly VolumeFile[]): string[] {
  const marker = entries.find((e) => e.path === TIMESTAMP_FILE);
  if (!marker) return [];
  return entries.filter((e) => !e.dir && !e.rawPath && e.mtimeMs > marker.mtimeMs).map((e) => e.path);
}

/**
 * Copies the input files (relative paths, checked) from the workspace into the volume in one batch. Answers the
 * first that is not in the workspace (none after it is copied), or null when every one was. Written in place, with
 * no temporary name: nothing reads the volume before its timestamp file marks it prepared (writeTimestamp, after
 * the inputs), and a prepare killed half-way is done again over what it left.
 */
export async function copyInputs(
  workspace: string,
  volume: string,
  files: readonly string[],
): Promise<string | null> {
  const items = files.map((file) => ({
    source: within(workspace, file, "input file"),
    dest: within(volume, file, "input file"),
  }));
  const outcomes = await copyFiles(items, { continueOn: [], inPlace: true });
  for (const [i, outcome] of outcomes.entries()) {
    if (!("failed" in outcome)) continue;
    if (outcome.failed.code === "ENOENT" && outcome.failed.path === items[i]!.source) return files[i]!;
    throw errnoError(outcome.failed);
  }
  return null;
}

/** Removes the volume, on a file worker; never throws (a failure is returned for the caller to log). */
export async function deleteVolume(dir: string): Promise<Error | null> {
  try {
    await onFileWorker({ op: "remove", dir });
    return null;
  } catch (error) {
    return error as Error;
  }
}
