/**
 * A validator for the JSON-schema subset our OpenAPI document uses, reporting the one error the reference reports:
 * Python jsonschema 4.26's `best_match` with its message texts (job-server shows them to users verbatim).
 *
 * best_match takes the maximum of (-depth, path, not type-matching) over all errors: the shallowest error wins;
 * among errors equally deep, the one with the greatest path (property names compare as strings, array indices as
 * numbers); then an error whose instance does not even have its schema's type; remaining ties go to the first error
 * found, walking the schema's keywords in document order. (The reference's "first in schema order" describes the
 * common case; the path rule was checked against jsonschema 4.26.0 itself.)
 *
 * Supported keywords: type, nullable (OpenAPI 3.0: null is accepted), required, properties, items, minItems, enum,
 * pattern. Annotations are ignored. Any other keyword fails at start-up, so the document cannot silently ask for a
 * check we do not make. Patterns use JavaScript regular expressions, searched unanchored like Python's `re.search`;
 * unlike Python, `$` does not match before a trailing newline. A message shows at most the first 200 characters of
 * the value's repr, then `…` (DESIGN DECISIONS 16).
 */
import { echoRepr } from "../domain/echo.js";
import type { JsonValue } from "../python/json-loads.js";
import { pyRepr, pyStrRepr } from "../python/repr.js";
import { PythonFloat } from "../python/values.js";

export type JsonPath = readonly (string | number)[];

export interface ValidationFailure {
  readonly path: JsonPath;
  readonly message: string;
}

export type Validator = (instance: JsonValue) => ValidationFailure | null;

export class SchemaCompileError extends Error {
  readonly code = "SCHEMA_UNSUPPORTED";
  constructor(where: string, detail: string) {
    super(`Cannot use the schema at ${where}: ${detail}`);
    this.name = "SchemaCompileError";
  }
}

interface Found {
  path: JsonPath;
  matchesType: boolean;
  instance: JsonValue;
  describe: (instanceRepr: string) => string;
}

/** Collects every error, then keeps the best one. `path` is a stack shared by the whole walk. */
interface Walk {
  readonly path: (string | number)[];
  readonly found: Found[];
}

type Check = (instance: JsonValue, walk: Walk) => void;

const ANNOTATIONS = new Set([
  "description",
  "title",
  "example",
  "examples",
  "format",
  "default",
  "deprecated",
]);

const TYPES: Readonly<Record<string, (value: JsonValue) => boolean>> = {
  object: (v) => v instanceof Map,
  array: (v) => Array.isArray(v),
  string: (v) => typeof v === "string",
  boolean: (v) => typeof v === "boolean",
  null: (v) => v === null,
  number: (v) => typeof v === "bigint" || typeof v === "number" || v instanceof PythonFloat,
  // jsonschema counts a float with an integral value (`1.0`) as an integer.
  integer: (v) =>
    typeof v === "bigint" ||
    ((typeof v === "number" || v instanceof PythonFloat) && Number.isInteger(Number(v))),
};

type Scalar = string | boolean | null;

function isScalar(value: unknown): value is Scalar {
  return value === null || typeof value === "string" || typeof value === "boolean";
}

function record(schema: unknown, where: string): Record<string, unknown> {
  if (schema === null || typeof schema !== "object" || Array.isArray(schema)) {
    throw new SchemaCompileError(where, "a schema must be an object");
  }
  return schema as Record<string, unknown>;
}

function compileNode(raw: unknown, where: string): Check {
  const schema = record(raw, where);
  const type = schema.type;
  if (type !== undefined && (typeof type !== "string" || !(type in TYPES))) {
    throw new SchemaCompileError(where, `unsupported type ${JSON.stringify(type)}`);
  }
  const hasType = type === undefined ? undefined : TYPES[type]!;
  const matchesType = (instance: JsonValue) => hasType?.(instance) ?? false;
  const nullable = schema.nullable === true;

  const report = (walk: Walk, instance: JsonValue, describe: Found["describe"]) => {
    walk.found.push({ path: [...walk.path], matchesType: matchesType(instance), instance, describe });
  };

  const checks: Check[] = [];
  for (const [keyword, value] of Object.entries(schema)) {
    const at = `${where}.${keyword}`;
    switch (keyword) {
      case "type":
        checks.push((instance, walk) => {
          if (!hasType!(instance))
            report(walk, instance, (r) => `${r} is not of type ${pyStrRepr(type as string)}`);
        });
        break;
      case "nullable":
        if (typeof value !== "boolean") throw new SchemaCompileError(at, "must be a boolean");
        break;
      case "required": {
        if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
          throw new SchemaCompileError(at, "must be a list of names");
        }
        const names = value as string[];
        checks.push((instance, walk) => {
          if (!(instance instanceof Map)) return;
          for (const name of names) {
            if (!instance.has(name))
              report(walk, instance, () => `${pyStrRepr(name)} is a required property`);
          }
        });
        break;
      }
      case "properties": {
        const properties = Object.entries(record(value, at)).map(
          ([name, sub]) => [name, compileNode(sub, `${at}.${name}`)] as const,
        );
        checks.push((instance, walk) => {
          if (!(instance instanceof Map)) return;
          for (const [name, check] of properties) {
            if (!instance.has(name)) continue;
            walk.path.push(name);
            check(instance.get(name)!, walk);
            walk.path.pop();
          }
        });
        break;
      }
      case "items": {
        const check = compileNode(value, at);
        checks.push((instance, walk) => {
          if (!Array.isArray(instance)) return;
          for (let i = 0; i < instance.length; i++) {
            walk.path.push(i);
            check(instance[i]!, walk);
            walk.path.pop();
          }
        });
        break;
      }
      case "minItems": {
        if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
          throw new SchemaCompileError(at, "must be a whole number");
        }
        const words = value === 1 ? "should be non-empty" : "is too short";
        checks.push((instance, walk) => {
          if (Array.isArray(instance) && instance.length < value)
            report(walk, instance, (r) => `${r} ${words}`);
        });
        break;
      }
      case "enum": {
        if (!Array.isArray(value) || !value.every(isScalar)) {
          throw new SchemaCompileError(at, "only lists of strings, booleans and null are supported");
        }
        const members = value as Scalar[];
        const listed = pyRepr(members);
        checks.push((instance, walk) => {
          if (!members.some((m) => m === instance))
            report(walk, instance, (r) => `${r} is not one of ${listed}`);
        });
        break;
      }
      case "pattern": {
        if (typeof value !== "string") throw new SchemaCompileError(at, "must be a string");
        let regex: RegExp;
        try {
          regex = new RegExp(value, "u");
        } catch (error) {
          throw new SchemaCompileError(at, (error as Error).message);
        }
        const shown = pyStrRepr(value);
        checks.push((instance, walk) => {
          if (typeof instance === "string" && !regex.test(instance)) {
            report(walk, instance, (r) => `${r} does not match ${shown}`);
          }
        });
        break;
      }
      default:
        if (!ANNOTATIONS.has(keyword)) throw new SchemaCompileError(at, `unsupported keyword '${keyword}'`);
    }
  }

  return (instance, walk) => {
    if (nullable && instance === null) return;
    for (const check of checks) check(instance, walk);
  };
}

/** Python compares deques element by element; equal-length paths from one instance hold the same kinds. */
function comparePaths(a: JsonPath, b: JsonPath): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** True when `a` is strictly more relevant than `b` (ties keep the earlier error). */
function moreRelevant(a: Found, b: Found): boolean {
  if (a.path.length !== b.path.length) return a.path.length < b.path.length;
  const byPath = comparePaths(a.path, b.path);
  if (byPath !== 0) return byPath > 0;
  return !a.matchesType && b.matchesType;
}

export function compileSchema(schema: unknown, where: string): Validator {
  const check = compileNode(schema, where);
  return (instance) => {
    const walk: Walk = { path: [], found: [] };
    check(instance, walk);
    let best: Found | undefined;
    for (const found of walk.found) if (!best || moreRelevant(found, best)) best = found;
    if (!best) return null;
    return { path: best.path, message: best.describe(echoRepr(best.instance)) };
  };
}

/** jsonschema's `json_path`: `$`, then `.name` for properties and `[i]` for array items. */
export function jsonPath(path: JsonPath): string {
  let out = "$";
  for (const part of path) out += typeof part === "number" ? `[${part}]` : `.${part}`;
  return out;
}
