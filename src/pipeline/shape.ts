/** Shape checks shared by the project, action and outputs rules, with the reference's wording. */

import { pyStr } from "../python/repr.js";
import type { PyValue } from "../python/values.js";
import { RuleViolation } from "./errors.js";

/** Throws `Unexpected parameters (a, b) in <location>` for keys outside `allowed`, listed in file order. */
export function unexpectedParameters(
  mapping: Map<PyValue, PyValue>,
  allowed: readonly string[],
  location: string,
): void {
  const unexpected: string[] = [];
  for (const key of mapping.keys()) {
    if (typeof key !== "string" || !allowed.includes(key)) unexpected.push(pyStr(key, "ordereddict"));
  }
  if (unexpected.length > 0) {
    throw new RuleViolation(`Unexpected parameters (${unexpected.join(", ")}) in ${location}`);
  }
}

export function isMapping(value: unknown): value is Map<PyValue, PyValue> {
  return value instanceof Map;
}

/** `<location> must be a dictionary of key/value pairs` unless the value is a mapping. */
export function requireMapping(value: PyValue, location: string): Map<PyValue, PyValue> {
  if (!isMapping(value)) throw new RuleViolation(`${location} must be a dictionary of key/value pairs`);
  return value;
}
