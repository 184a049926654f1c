/**
 * Python's `repr()` and `str()`, as the reference prints values inside its messages: project.yaml errors
 * (`ordereddict([('a', 1)])`, `datetime.date(2020, 1, 1)`) and request validation errors (`{'a': 1}`, `None`,
 * `1.0`). Users read both verbatim, so the text must be Python's exactly.
 */
import { pyFloatRepr, pyIntRepr } from "./float.js";
import { PythonFloat, PythonOpaque, type PyValue } from "./values.js";

/**
 * How a Map prints: as a dict (`{'a': 1}`, what `json.loads` builds) or as ruamel.yaml's ordered mapping
 * (`ordereddict([('a', 1)])`, what the reference's project.yaml loader builds).
 */
export type MappingStyle = "dict" | "ordereddict";

// str.isprintable() is false for these general categories (the ASCII space aside).
const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;
const NEEDS_ESCAPE = /[^ -~]|['"\\]/;

/** Python's `repr(str)`. */
export function pyStrRepr(value: string): string {
  return quoted(value, quoteFor(value));
}

/** Python prefers single quotes and switches to double quotes only to avoid escaping a single quote. */
function quoteFor(value: string): string {
  return value.includes("'") && !value.includes('"') ? '"' : "'";
}

function quoted(value: string, quote: string): string {
  if (!NEEDS_ESCAPE.test(value)) return `${quote}${value}${quote}`;
  let out = quote;
  for (const char of value) out += escapeChar(char, quote);
  return out + quote;
}

function escapeChar(char: string, quote: string): string {
  switch (char) {
    case "\\":
      return "\\\\";
    case "\n":
      return "\\n";
    case "\r":
      return "\\r";
    case "\t":
      return "\\t";
    case quote:
      return `\\${quote}`;
  }
  const code = char.codePointAt(0)!;
  if (code < 0x20 || code === 0x7f) return `\\x${hex(code, 2)}`;
  if (code < 0x7f || !NON_PRINTABLE.test(char)) return char;
  if (code <= 0xff) return `\\x${hex(code, 2)}`;
  if (code <= 0xffff) return `\\u${hex(code, 4)}`;
  return `\\U${hex(code, 8)}`;
}

function hex(code: number, width: number): string {
  return code.toString(16).padStart(width, "0");
}

/** Python's `repr()`. */
export function pyRepr(value: PyValue, mappings: MappingStyle = "dict"): string {
  return reprPrefix(value, Number.POSITIVE_INFINITY, mappings);
}

/** Python's `str()`: strings (and opaque scalars) print bare, everything else as its repr. */
export function pyStr(value: PyValue, mappings: MappingStyle = "dict"): string {
  if (typeof value === "string") return value;
  if (value instanceof PythonOpaque) return value.text;
  return pyRepr(value, mappings);
}

/**
 * The start of the value's repr: all of it when that is at most `length` characters, else a prefix longer than
 * `length`. The walk stops there, so only as much of a huge value as can show is ever turned into text.
 */
export function reprPrefix(value: PyValue, length: number, mappings: MappingStyle = "dict"): string {
  let out = "";
  // Appends until the text is past the length; false once it is, to stop the walk.
  const put = (text: string) => {
    out += text;
    return out.length <= length;
  };
  const items = <T>(list: Iterable<T>, each: (item: T) => boolean): boolean => {
    let first = true;
    for (const item of list) {
      if ((!first && !put(", ")) || !each(item)) return false;
      first = false;
    }
    return true;
  };
  const write = (v: PyValue): boolean => {
    if (typeof v === "string") {
      // Escaping only ever lengthens, so a prefix of the string gives the repr's prefix (the quote needs it all).
      return put(quoted(v.length > length ? v.slice(0, length) : v, quoteFor(v)));
    }
    if (Array.isArray(v)) return put("[") && items(v, write) && put("]");
    if (!(v instanceof Map)) return put(scalarRepr(v));
    if (mappings === "dict") {
      return put("{") && items(v, ([key, item]) => write(key) && put(": ") && write(item)) && put("}");
    }
    if (v.size === 0) return put("ordereddict()");
    return (
      put("ordereddict([") &&
      items(v, ([key, item]) => put("(") && write(key) && put(", ") && write(item) && put(")")) &&
      put("])")
    );
  };
  write(value);
  return out;
}

function scalarRepr(value: Exclude<PyValue, string | PyValue[] | Map<PyValue, PyValue>>): string {
  if (value === null) return "None";
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "bigint") return pyIntRepr(value);
  if (value instanceof PythonFloat) return pyFloatRepr(value.value);
  if (value instanceof PythonOpaque) return opaqueRepr(value);
  return Number.isInteger(value) ? pyIntRepr(value) : pyFloatRepr(value);
}

function opaqueRepr(value: PythonOpaque): string {
  const date = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value.text);
  if (value.tag === "tag:yaml.org,2002:timestamp" && date) {
    return `datetime.date(${Number(date[1])}, ${Number(date[2])}, ${Number(date[3])})`;
  }
  return pyStrRepr(value.text);
}
