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

/**
 * Python's `fnmatch.fnmatchcase(name, pattern)`: `*` matches anything (including `/`), `?` one character,
 * `[...]` a set (`[!...]` negated); everything else literally.
 */
export function fnmatch(name: string, pattern: string): boolean {
  let source = "";
  let i = 0;
  while (i < pattern.length) {
    const ch = pattern[i] as string;
    i++;
    if (ch === "*") {
      if (!source.endsWith(".*")) source += ".*";
    } else if (ch === "?") {
      source += ".";
    } else if (ch === "[") {
      let j = i;
      if (pattern[j] === "!") j++;
      if (pattern[j] === "]") j++;
      while (j < pattern.length && pattern[j] !== "]") j++;
      if (j >= pattern.length) {
        source += "\\[";
      } else {
        source += characterSet(pattern.slice(i, j));
        i = j + 1;
      }
    } else {
      source += escapeChar(ch);
    }
  }
  return new RegExp(`^${source}$`, "su").test(name);
}

function escapeChar(ch: string): string {
  return `\\u{${(ch.codePointAt(0) ?? 0).toString(16)}}`;
}

/** A `[...]` set as a regular expression; ranges written backwards match nothing, as in Python. */
function characterSet(body: string): string {
  const negate = body.startsWith("!");
  const chars = Array.from(negate ? body.slice(1) : body);
  let members = "";
  for (let k = 0; k < chars.length; k++) {
    const from = chars[k] as string;
    const to = chars[k + 2];
    if (chars[k + 1] === "-" && to !== undefined) {
      if (from <= to) members += `${escapeChar(from)}-${escapeChar(to)}`;
      k += 2;
    } else {
      members += escapeChar(from);
    }
  }
  if (members === "") return negate ? "." : "(?!)";
  return `[${negate ? "^" : ""}${members}]`;
}
