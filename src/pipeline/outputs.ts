/** The `outputs:` section of an action: its shape, and the rules every output path pattern must follow. */

import { orderedObject } from "../python/ordered.js";
import { normpath, pathSuffix, purePosix } from "../python/posix-path.js";
import { pyStr } from "../python/repr.js";
import type { PyValue } from "../python/values.js";
import { RuleViolation } from "./errors.js";
import { PRIVACY_LEVELS, type PrivacyLevel } from "./model.js";
import { unexpectedParameters } from "./shape.js";

/** File types that may be released for review (level 4); anything else must stay `highly_sensitive`. */
const LEVEL_4_FILE_TYPES = new Set([
  ".csv",
  ".jpg",
  ".jpeg",
  ".png",
  ".svg",
  ".svgz",
  ".html",
  ".txt",
  ".log",
  ".json",
  ".md",
]);

/** Why a path pattern is not acceptable (the reference's wording, checked in its order), or null. */
export function outputPathProblem(pattern: string, level: PrivacyLevel): string | null {
  if (pattern.includes("\\")) return "contains back slashes (use forward slashes only)";
  for (const wildcard of ["**", "?", "["]) {
    if (pattern.includes(wildcard))
      return `contains '${wildcard}' (only the * wildcard character is supported)`;
  }
  const suffix = pathSuffix(pattern);
  if (suffix === "" || suffix.endsWith("*")) return "output paths must have a file type extension at the end";
  if (level === "moderately_sensitive" && !LEVEL_4_FILE_TYPES.has(suffix)) {
    return `${purePosix(pattern)} is not an allowed file type for moderately_sensitive outputs`;
  }
  if (normpath(pattern) !== pattern)
    return "is not in standard form (contains double slashes or '..' elements)";
  if (pattern === "metadata" || pattern.startsWith("metadata/"))
    return "should not include the metadata directory";
  // Absolute on POSIX, or on Windows (a drive letter and a root: `c:/...`).
  if (pattern.startsWith("/") || (pattern[1] === ":" && pattern[2] === "/")) return "is an absolute path";
  return null;
}

/**
 * Checks an action's `outputs` mapping and returns it as privacy level → name → pattern (levels given as null are
 * left out). Throws RuleViolation with the reference's message for the first problem.
 */
export function readOutputs(
  outputs: Map<PyValue, PyValue>,
  actionId: string,
): Record<string, Record<string, string>> {
  if (PRIVACY_LEVELS.every((level) => (outputs.get(level) ?? null) === null)) {
    throw new RuleViolation(
      "must specify at least one output of: highly_sensitive, moderately_sensitive, minimally_sensitive",
    );
  }
  unexpectedParameters(outputs, PRIVACY_LEVELS, `\`outputs\` section for action ${actionId}`);
  const result: Record<string, Record<string, string>> = {};
  for (const level of PRIVACY_LEVELS) {
    const entries = outputs.get(level) ?? null;
    if (entries === null) continue;
    if (!(entries instanceof Map)) {
      throw new RuleViolation(
        `\`${level}\` section for action ${actionId} must be a dictionary of key/value pairs`,
      );
    }
    const patterns: Array<[string, string]> = [];
    for (const [name, pattern] of entries) {
      if (typeof pattern !== "string") {
        throw new RuleViolation(
          `\`${pyStr(name, "ordereddict")}\` output for action ${actionId} must be a string`,
        );
      }
      const problem = outputPathProblem(pattern, level);
      if (problem !== null) throw new RuleViolation(`Output path ${pattern} is invalid: ${problem}`);
      patterns.push([pyStr(name, "ordereddict"), pattern]);
    }
    result[level] = orderedObject(patterns);
  }
  return result;
}
