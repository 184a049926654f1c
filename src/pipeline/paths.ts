/**
 * The bits of Python's `pathlib.PurePosixPath`, `posixpath.normpath` and `fnmatch` the output rules use. Output
 * patterns are plain strings here (never touched on disk), so these are string functions.
 */

interface PosixPath {
  /** "", "/" or "//" (POSIX keeps exactly two leading slashes). */
  root: string;
  /** The components, without empty and "." ones. */
  parts: string[];
}

function parsePosix(path: string): PosixPath {
  let root = "";
  if (path.startsWith("/")) root = path.startsWith("//") && !path.startsWith("///") ? "//" : "/";
  const parts = path.split("/").filter((part) => part !== "" && part !== ".");
  return { root, parts };
}

function formatPosix({ root, parts }: PosixPath): string {
  return root + parts.join("/") || ".";
}

/** `str(PurePosixPath(path))`: repeated slashes collapsed, `.` components and a trailing slash dropped. */
export function purePosix(path: string): string {
  return formatPosix(parsePosix(path));
}

/** `PurePosixPath(path).name`: the last component, or "" when there is none. */
export function pathName(path: string): string {
  return parsePosix(path).parts.at(-1) ?? "";
}

/** `PurePosixPath(path).suffix`: from the last dot of the name; none for `.hidden` or `name.`. */
export function pathSuffix(path: string): string {
  const name = pathName(path);
  const dot = name.lastIndexOf(".");
  return dot > 0 && dot < name.length - 1 ? name.slice(dot) : "";
}

/** `str(PurePosixPath(path).parent)`. */
export function pathParent(path: string): string {
  const { root, parts } = parsePosix(path);
  return formatPosix({ root, parts: parts.slice(0, -1) });
}

/** `str(PurePosixPath(path).with_name(name))`; the path must have a name. */
export function pathWithName(path: string, name: string): string {
  const { root, parts } = parsePosix(path);
  return formatPosix({ root, parts: [...parts.slice(0, -1), name] });
}

/** `posixpath.normpath(path)`: also resolves `..` against earlier components. */
export function normpath(path: string): string {
  if (path === "") return ".";
  const slashes = path.startsWith("//") && !path.startsWith("///") ? 2 : path.startsWith("/") ? 1 : 0;
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part !== ".." || (slashes === 0 && parts.length === 0) || parts.at(-1) === "..") parts.push(part);
    else if (parts.length > 0) parts.pop();
  }
  return "/".repeat(slashes) + parts.join("/") || ".";
}

/** One element of a glob: `*`, `?`, a `[...]` set, or a literal character. */
type GlobPart =
  | { kind: "star" }
  | { kind: "any" }
  | { kind: "set"; negate: boolean; ranges: Array<[string, string]> }
  | { kind: "char"; char: string };

/**
 * Python's `fnmatch.fnmatchcase(name, pattern)`: `*` matches anything (including `/`), `?` one character,
 * `[...]` a set (`[!...]` negated, ranges written backwards match nothing); everything else literally. Matched
 * without regular expressions, so a pattern full of stars cannot make it take exponential time.
 */
export function fnmatch(name: string, pattern: string): boolean {
  const parts = globParts(pattern);
  const chars = Array.from(name);
  let n = 0;
  let p = 0;
  let starP = -1;
  let starN = 0;
  while (n < chars.length) {
    const part = parts[p];
    if (part !== undefined && part.kind === "star") {
      starP = p++;
      starN = n;
    } else if (part !== undefined && matchesOne(part, chars[n] as string)) {
      n++;
      p++;
    } else if (starP >= 0) {
      // Let the last star swallow one more character and try again from there.
      p = starP + 1;
      n = ++starN;
    } else {
      return false;
    }
  }
  while (parts[p]?.kind === "star") p++;
  return p === parts.length;
}

function matchesOne(part: GlobPart, char: string): boolean {
  switch (part.kind) {
    case "any":
      return true;
    case "char":
      return part.char === char;
    case "set":
      return part.ranges.some(([from, to]) => from <= char && char <= to) !== part.negate;
    case "star":
      return false;
  }
}

function globParts(pattern: string): GlobPart[] {
  const chars = Array.from(pattern);
  const parts: GlobPart[] = [];
  let i = 0;
  while (i < chars.length) {
    const ch = chars[i] as string;
    i++;
    if (ch === "*") {
      if (parts.at(-1)?.kind !== "star") parts.push({ kind: "star" });
    } else if (ch === "?") {
      parts.push({ kind: "any" });
    } else if (ch === "[") {
      let j = i;
      if (chars[j] === "!") j++;
      if (chars[j] === "]") j++;
      while (j < chars.length && chars[j] !== "]") j++;
      if (j >= chars.length) {
        parts.push({ kind: "char", char: "[" });
      } else {
        parts.push(globSet(chars.slice(i, j)));
        i = j + 1;
      }
    } else {
      parts.push({ kind: "char", char: ch });
    }
  }
  return parts;
}

function globSet(body: string[]): GlobPart {
  const negate = body[0] === "!";
  const members = negate ? body.slice(1) : body;
  const ranges: Array<[string, string]> = [];
  for (let k = 0; k < members.length; k++) {
    const from = members[k] as string;
    const to = members[k + 2];
    if (members[k + 1] === "-" && to !== undefined) {
      ranges.push([from, to]);
      k += 2;
    } else {
      ranges.push([from, from]);
    }
  }
  return { kind: "set", negate, ranges };
}
