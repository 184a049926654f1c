/**
 * Python's `json.dumps` with its default settings: `", "` and `": "` separators, every non-ASCII or control
 * character escaped as `\uXXXX`, floats printed the Python way (`1.0`, `1e-05`, `NaN`). The reference appends
 * `json.dumps(config)` to reusable actions' command lines, so the text must match byte for byte.
 */
import { asciiJson } from "./ascii-json.js";
import { pyFloatRepr, pyIntRepr } from "./float.js";
import { orderedEntries } from "./ordered.js";
import { isPyFloat, PythonFloat, PythonOpaque } from "./values.js";

export interface JsonDumpsOptions {
  /** Like Python's `indent=`: pretty-print with this many spaces (then `","` separates items, as in Python). */
  indent?: number;
}

/**
 * Serialises JSON-like data: null, booleans, strings, ints (bigint, or integral numbers), floats (other numbers,
 * PythonFloat), arrays, Maps and plain objects. PythonOpaque values (dates) print as their text, where Python would raise.
 */
export function pythonJsonDumps(value: unknown, options: JsonDumpsOptions = {}): string {
  return dump(value, options.indent, "");
}

function dump(value: unknown, indent: number | undefined, prefix: string): string {
  if (value === null || value === undefined) return "null";
  if (value === true) return "true";
  if (value === false) return "false";
  if (typeof value === "string") return jsonString(value);
  if (typeof value === "bigint") return pyIntRepr(value);
  if (typeof value === "number" || value instanceof PythonFloat) return jsonNumber(value);
  if (value instanceof PythonOpaque) return jsonString(value.text);
  if (Array.isArray(value)) {
    return container(
      value.map((item) => (childPrefix: string) => dump(item, indent, childPrefix)),
      "[",
      "]",
      indent,
      prefix,
    );
  }
  const entries: Array<[unknown, unknown]> =
    value instanceof Map ? [...value] : orderedEntries(value as Record<string, unknown>);
  return container(
    entries.map(
      ([k, v]) =>
        (childPrefix: string) =>
          `${jsonString(pythonJsonKey(k))}: ${dump(v, indent, childPrefix)}`,
    ),
    "{",
    "}",
    indent,
    prefix,
  );
}

function container(
  items: Array<(childPrefix: string) => string>,
  open: string,
  close: string,
  indent: number | undefined,
  prefix: string,
): string {
  if (items.length === 0) return open + close;
  if (indent === undefined) return open + items.map((item) => item(prefix)).join(", ") + close;
  const childPrefix = prefix + " ".repeat(indent);
  const body = items.map((item) => childPrefix + item(childPrefix)).join(",\n");
  return `${open}\n${body}\n${prefix}${close}`;
}

function jsonNumber(value: number | PythonFloat): string {
  const n = Number(value);
  if (!isPyFloat(value)) return pyIntRepr(n);
  if (Number.isNaN(n)) return "NaN";
  if (n === Number.POSITIVE_INFINITY) return "Infinity";
  if (n === Number.NEGATIVE_INFINITY) return "-Infinity";
  return pyFloatRepr(n);
}

/** The object key `json.dumps` writes for a dict key: int, float, bool and None keys become `1`, `1.0`, `true`. */
export function pythonJsonKey(key: unknown): string {
  if (typeof key === "string") return key;
  if (key instanceof PythonOpaque) return key.text;
  return dump(key, undefined, "");
}

/** A JSON string literal with `ensure_ascii` escapes (JSON.stringify's short escapes are Python's too). */
function jsonString(s: string): string {
  return asciiJson(JSON.stringify(s));
}
