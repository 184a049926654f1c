/**
 * The listing of a finished job's volume, made with synchronous system calls on the file worker (file-worker.ts):
 * a volume of thousands of files is one readdir per directory and one lstat per entry, with no hand-over between
 * threads. The job wrote anything it liked into its volume, symlinks included, so a symlink counts as a file only
 * when it resolves to a regular file inside the volume, and symlinked directories are not entered.
 */
import { isUtf8 } from "node:buffer";
import { lstatSync, readdirSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";
import type { VolumeEntry } from "./glob.js";
import { isInside } from "./paths.js";

export interface VolumeFile extends VolumeEntry {
  /** Modification time in ms (fractional), of the file itself or a symlink's target. */
  readonly mtimeMs: number;
  /** Apparent size in bytes (a sparse file's holes included), of the file or a symlink's target. */
  readonly size: number;
  /** The path's bytes when they are not valid UTF-8 (`path` is then their lossy decoding, for matching only). */
  readonly rawPath?: Buffer;
  /** A file's contents as listed: where to read them (a symlink's target) and which file that was. */
  readonly source?: ListedSource;
}

/** A file of the volume as its listing saw it: copied only if it is still that file (copy-sync.ts). */
export interface ListedSource {
  /** Absolute, through no symlink. */
  readonly path: string;
  readonly dev: number;
  readonly ino: number;
}

/**
 * Everything in the volume, depth first, names sorted (by bytes) within a directory. Names are read as bytes: one
 * that is not valid UTF-8 (and everything below it) is listed with `rawPath`, its symlinks not followed.
 */
export function listVolumeSync(dir: string): VolumeFile[] {
  const rootText = realpathSync.native(dir);
  const root = Buffer.from(rootText);
  const out: VolumeFile[] = [];
  const walk = (rel: Buffer | null): void => {
    const names = readdirSync(rel ? joinBytes(root, rel) : root, { encoding: "buffer" }).sort(Buffer.compare);
    for (const name of names) {
      const raw = rel ? joinBytes(rel, name) : name;
      const info = lstatSync(joinBytes(root, raw));
      const valid = isUtf8(raw);
      const entry = { path: raw.toString("utf8"), ...(valid ? {} : { rawPath: raw }) };
      if (info.isDirectory()) {
        out.push({ ...entry, dir: true, mtimeMs: info.mtimeMs, size: 0 });
        walk(raw);
      } else if (info.isFile()) {
        const source = valid ? { path: join(rootText, entry.path), dev: info.dev, ino: info.ino } : undefined;
        out.push({
          ...entry,
          dir: false,
          mtimeMs: info.mtimeMs,
          size: info.size,
          ...(source ? { source } : {}),
        });
      } else if (info.isSymbolicLink() && valid) {
        const target = resolveInside(rootText, join(rootText, entry.path));
        if (target === null) continue;
        const targetInfo = statSync(target);
        if (targetInfo.isFile()) {
          const source = { path: target, dev: targetInfo.dev, ino: targetInfo.ino };
          out.push({ ...entry, dir: false, mtimeMs: targetInfo.mtimeMs, size: targetInfo.size, source });
        }
      }
    }
  };
  walk(null);
  return out;
}

function joinBytes(dir: Buffer, name: Buffer): Buffer {
  return Buffer.concat([dir, SLASH, name]);
}

const SLASH = Buffer.from("/");

function resolveInside(root: string, path: string): string | null {
  let real: string;
  try {
    real = realpathSync.native(path);
  } catch {
    return null;
  }
  return isInside(root, real) ? real : null;
}
