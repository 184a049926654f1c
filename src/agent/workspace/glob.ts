/**
 * Output patterns matched the way the reference matches them: Python 3.12 `pathlib.Path.glob` relative to the job's
 * volume, keeping regular files only (reference/agent.md §3.5). Pure: it works on a listing of the volume, so the
 * rules are table-tested without a filesystem.
 *
 * The rules: case-sensitive; `*`, `?` and `[…]` (fnmatch syntax, `[!…]` negates) never cross `/`; wildcards match
 * dotfiles; a `**` segment is zero or more directories (`**` inside a segment is invalid and matches nothing); a
 * pattern ending in `**` or `/` names directories, so no file matches; empty and `.` segments are ignored.
 */
import { fnmatcher } from "../../python/fnmatch.js";

export interface VolumeEntry {
  /** Relative to the volume, `/`-separated. */
  readonly path: string;
  /** True for a directory; false for a regular file (or a symlink to a file inside the volume). */
  readonly dir: boolean;
}

/** The file entries that `pattern` matches, in listing order. */
export function globEntries<T extends VolumeEntry>(pattern: string, entries: readonly T[]): T[] {
  const segments = patternSegments(pattern);
  if (segments === null) return [];
  const matchers = segments.map(segmentMatcher);
  if (matchers.some((m) => m === null)) return [];
  const compiled = matchers as SegmentMatcher[];
  return entries.filter((entry) => !entry.dir && matchPath(compiled, 0, entry.path.split("/"), 0));
}

type SegmentMatcher = "**" | ((name: string) => boolean);

/** The pattern's segments, or null when it can only name directories. */
function patternSegments(pattern: string): string[] | null {
  if (pattern === "" || pattern.endsWith("/")) return null;
  const segments = pattern.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.length === 0 || segments.at(-1) === "**") return null;
  return segments;
}

function segmentMatcher(segment: string): SegmentMatcher | null {
  if (segment === "**") return "**";
  if (segment.includes("**")) return null;
  if (!/[*?[]/.test(segment)) return (name) => name === segment;
  return fnmatcher(segment);
}

function matchPath(pattern: SegmentMatcher[], i: number, path: string[], j: number): boolean {
  if (i === pattern.length) return j === path.length;
  const matcher = pattern[i]!;
  if (matcher === "**") {
    // Zero or more directories: every segment before the file name is one.
    for (let k = j; k < path.length; k++) if (matchPath(pattern, i + 1, path, k)) return true;
    return false;
  }
  return j < path.length && matcher(path[j]!) && matchPath(pattern, i + 1, path, j + 1);
}
