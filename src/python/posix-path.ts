/**
 * The bits of Python's `pathlib.PurePosixPath` and `posixpath.normpath` that output rules and level-4 checks use.
 * Paths are plain strings here (never touched on disk), so these are string functions.
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
