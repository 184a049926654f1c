/**
 * Output patterns matched the way the reference matches them: Python 3.12 `pathlib.Path.glob` relative to the job's
 * volume, keeping regular files only (reference/agent.md §3.5). Pure: it works on a listing of the volume, so the
 * rules are table-tested without a filesystem.
 *
 * The rules: case-sensitive; `*`, `?` and `[…]` (fnmatch syntax, `[!…]` negates) never cross `/`; wildcards match
 * dotfiles; a `**` segment is zero or more directories (`**` inside a segment is invalid and matches nothing); a
 * pattern ending in `**` or `/` names directories, so no file matches; empty and `.` segments are ignored.
 */

export interface VolumeEntry {
  /** Relative to the volume, `/`-separated. */
  readonly path: string;
  /** True for a directory; false for a regular file (or a symlink to a file inside the volume). */
  readonly dir: boolean;
}

/** The files among `entries` that `pattern` matches, in listing order. */
export function globFiles(pattern: string, entries: readonly VolumeEntry[]): string[] {
  const segments = patternSegments(pattern);
  if (segments === null) return [];
  const matchers = segments.map(segmentMatcher);
  if (matchers.some((m) => m === null)) return [];
  const compiled = matchers as SegmentMatcher[];
  return entries
    .filter((entry) => !entry.dir && matchPath(compiled, 0, entry.path.split("/"), 0))
    .map((entry) => entry.path);
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
  const regex = fnmatchRegex(segment);
  return regex === null ? null : (name) => regex.test(name);
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

/** Python's `fnmatch.translate` for one segment, as a JavaScript regular expression (null if it cannot be). */
export function fnmatchRegex(segment: string): RegExp | null {
  let out = "";
  let i = 0;
  const n = segment.length;
  while (i < n) {
    const c = segment[i++]!;
    if (c === "*") {
      while (segment[i] === "*") i++;
      out += ".*";
    } else if (c === "?") {
      out += ".";
    } else if (c === "[") {
      let j = i;
      if (segment[j] === "!") j++;
      if (segment[j] === "]") j++;
      while (j < n && segment[j] !== "]") j++;
      if (j >= n) {
        out += "\\[";
        continue;
      }
      let stuff = segment.slice(i, j);
      i = j + 1;
      if (stuff === "") {
        out += "(?!)";
        continue;
      }
      if (stuff === "!") {
        out += ".";
        continue;
      }
      stuff = stuff.replace(/\\/g, "\\\\");
      if (stuff.startsWith("!")) stuff = `^${stuff.slice(1)}`;
      else if (stuff.startsWith("^") || stuff.startsWith("[")) stuff = `\\${stuff}`;
      out += `[${stuff.replace(/]/g, "\\]")}]`;
    } else {
      out += c.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
    }
  }
  try {
    return new RegExp(`^(?:${out})$`, "s");
  } catch {
    // A reversed range (`[z-a]`): Python drops it; matching nothing is the safe reading.
    return null;
  }
}
