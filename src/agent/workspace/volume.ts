/**
 * A job's volume: a directory bind-mounted at /workspace (reference/agent.md §3.2). The job writes anything it
 * likes into it, symlinks included, so everything read back out is checked to stay inside it: a symlink that
 * leads outside the volume is never listed as an output and never followed when copying.
 */
import { isUtf8 } from "node:buffer";
import { lstat, mkdir, readdir, readFile, realpath, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { UnsafePathError } from "../errors.js";
import { type CopiedFile, copyFileAtomic, FILE_CONCURRENCY, mapConcurrently } from "./files.js";
import type { VolumeEntry } from "./glob.js";
import { isInside, within } from "./paths.js";

const TIMESTAMP_FILE = ".opensafely-timestamp";

export interface VolumeFile extends VolumeEntry {
  /** Modification time in ms (fractional), of the file itself or a symlink's target. */
  readonly mtimeMs: number;
  /** Apparent size in bytes (a sparse file's holes included), of the file or a symlink's target. */
  readonly size: number;
  /** The path's bytes when they are not valid UTF-8 (`path` is then their lossy decoding, for matching only). */
  readonly rawPath?: Buffer;
}

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
 * Everything in the volume, depth first, names sorted (by bytes) within a directory. Symlinked directories are not
 * entered; a symlink counts as a file only when it resolves to a regular file inside the volume. Names are read as
 * bytes: one that is not valid UTF-8 (and everything below it) is listed with `rawPath`, its symlinks not followed.
 */
export async function listVolume(dir: string): Promise<VolumeFile[]> {
  const root = Buffer.from(await realpath(dir));
  const out: VolumeFile[] = [];
  const walk = async (rel: Buffer | null): Promise<void> => {
    const names = (await readdir(rel ? joinBytes(root, rel) : root, { encoding: "buffer" })).sort(
      Buffer.compare,
    );
    const paths = names.map((name) => (rel ? joinBytes(rel, name) : name));
    const infos = await mapConcurrently(paths, FILE_CONCURRENCY, (path) => lstat(joinBytes(root, path)));
    for (const [i, raw] of paths.entries()) {
      const info = infos[i]!;
      const valid = isUtf8(raw);
      const entry = { path: raw.toString("utf8"), ...(valid ? {} : { rawPath: raw }) };
      if (info.isDirectory()) {
        out.push({ ...entry, dir: true, mtimeMs: info.mtimeMs, size: 0 });
        await walk(raw);
      } else if (info.isFile()) {
        out.push({ ...entry, dir: false, mtimeMs: info.mtimeMs, size: info.size });
      } else if (info.isSymbolicLink() && valid) {
        const target = await resolveInside(root.toString("utf8"), join(root.toString("utf8"), entry.path));
        if (target === null) continue;
        const targetInfo = await stat(target);
        if (targetInfo.isFile()) {
          out.push({ ...entry, dir: false, mtimeMs: targetInfo.mtimeMs, size: targetInfo.size });
        }
      }
    }
  };
  await walk(null);
  return out;
}

function joinBytes(dir: Buffer, name: Buffer): Buffer {
  return Buffer.concat([dir, SLASH, name]);
}

const SLASH = Buffer.from("/");

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
 * Copies `{volume}/{relPath}` to dest atomically, refusing (UnsafePathError) a path whose real location is outside
 * the volume.
 */
export async function copyOut(volume: string, relPath: string, dest: string): Promise<CopiedFile> {
  const root = await realpath(volume);
  const source = await resolveInside(root, within(root, relPath, "output path"));
  if (source === null) throw new UnsafePathError(`Output ${relPath} leads outside the job's volume`);
  return copyFileAtomic(source, dest);
}

/** Copies a file into the volume at relPath (an input from an earlier job). */
export async function copyIn(source: string, volume: string, relPath: string): Promise<void> {
  await copyFileAtomic(source, within(volume, relPath, "input file"));
}

/** Removes the volume; never throws (a failure is returned for the caller to log). */
export async function deleteVolume(dir: string): Promise<Error | null> {
  try {
    await rm(dir, { recursive: true, force: true });
    return null;
  } catch (error) {
    return error as Error;
  }
}

async function resolveInside(root: string, path: string): Promise<string | null> {
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    return null;
  }
  return isInside(root, real) ? real : null;
}
