/** Pure checks on commit shas and ref names, so git never sees a value it would misread. */
import { GitInvalidRefError } from "./errors.js";

const FULL_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** A full lowercase commit id (SHA-1, or SHA-256 for repositories that use it). */
export function isFullSha(value: string): boolean {
  return FULL_SHA.test(value);
}

// Characters git-check-ref-format(1) forbids anywhere in a ref: controls, DEL, space, ~ ^ : ? * [ and backslash.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what this rejects
const FORBIDDEN_CHAR = /[\x00-\x20\x7f~^:?*[\\]/;

/**
 * Why git would refuse `ref` as a ref name (the rules of `git check-ref-format --allow-onelevel`), or why it could
 * be read as a command-line option; null when it is acceptable.
 */
export function refFormatProblem(ref: string): string | null {
  if (ref === "") return "it is empty";
  if (ref.startsWith("-")) return "it starts with '-'";
  if (ref === "@") return "it is '@'";
  const bad = FORBIDDEN_CHAR.exec(ref);
  if (bad) return `it contains ${describeChar(bad[0])}`;
  if (ref.includes("..")) return "it contains '..'";
  if (ref.includes("@{")) return "it contains '@{'";
  if (ref.startsWith("/") || ref.endsWith("/") || ref.includes("//")) return "it has an empty path component";
  if (ref.endsWith(".")) return "it ends with '.'";
  for (const component of ref.split("/")) {
    if (component.startsWith(".")) return "a path component starts with '.'";
    if (component.endsWith(".lock")) return "a path component ends with '.lock'";
  }
  return null;
}

function describeChar(char: string): string {
  if (char === " ") return "a space";
  if (char <= " " || char === "\x7f") return "a control character";
  return `'${char}'`;
}

/** Throws GitInvalidRefError unless `ref` is a well-formed ref name. */
export function assertValidRef(ref: string): void {
  const problem = refFormatProblem(ref);
  if (problem) throw new GitInvalidRefError(ref, problem);
}
