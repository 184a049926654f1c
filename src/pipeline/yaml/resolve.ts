/**
 * Which type a plain scalar gets, and its value: the YAML 1.2 rules as the reference's loader (ruyaml, round-trip
 * mode) applies them. So `yes`, `on` and `off` stay strings, `3.0` is a float, `0o10` is 8 and `010` is 10,
 * `1_000` is 1000, `2020-01-01` is a date (not a string), `~`/`null`/empty are null.
 */
import { PythonFloat, PythonOpaque, type PyValue } from "../../python/values.js";

export const TAG = {
  str: "tag:yaml.org,2002:str",
  int: "tag:yaml.org,2002:int",
  float: "tag:yaml.org,2002:float",
  bool: "tag:yaml.org,2002:bool",
  null: "tag:yaml.org,2002:null",
  timestamp: "tag:yaml.org,2002:timestamp",
  merge: "tag:yaml.org,2002:merge",
  value: "tag:yaml.org,2002:value",
  seq: "tag:yaml.org,2002:seq",
  map: "tag:yaml.org,2002:map",
} as const;

const BOOL = /^(?:true|True|TRUE|false|False|FALSE)$/;
const FLOAT =
  /^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+|[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const INT = /^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+)$/;
const NULL = /^(?:~|null|Null|NULL|)$/;
const TIMESTAMP =
  /^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)$/;

/**
 * The tag of an untagged plain scalar. As in the reference, the candidates depend on the first character (a value
 * starting with `_` is never a number, for instance) and are tried in a fixed order.
 */
export function resolvePlainTag(value: string): string {
  const first = value.charCodeAt(0);
  if (value === "") return TAG.null;
  if (first === 116 || first === 84 || first === 102 || first === 70) {
    // t T f F
    if (BOOL.test(value)) return TAG.bool;
  } else if ((first >= 48 && first <= 57) || first === 43 || first === 45 || first === 46) {
    // digits + - .
    if (FLOAT.test(value)) return TAG.float;
    if (first !== 46 && INT.test(value)) return TAG.int;
    if (first >= 48 && first <= 57 && TIMESTAMP.test(value)) return TAG.timestamp;
  } else if (first === 60) {
    if (value === "<<") return TAG.merge;
  } else if (first === 61) {
    if (value === "=") return TAG.value;
  }
  if ((first === 126 || first === 110 || first === 78) && NULL.test(value)) return TAG.null;
  return TAG.str;
}

/**
 * The value of a scalar with a known tag, or undefined when the text does not fit the tag (the reference would
 * crash on, say, `!!int abc`; the caller reports a clean error instead).
 */
export function constructScalar(tag: string, value: string): PyValue | undefined {
  switch (tag) {
    case TAG.str:
      return value;
    case TAG.null:
      return null;
    case TAG.bool: {
      const lower = value.toLowerCase();
      if (lower === "true" || lower === "yes" || lower === "on") return true;
      if (lower === "false" || lower === "no" || lower === "off") return false;
      return undefined;
    }
    case TAG.int:
      return constructInt(value);
    case TAG.float:
      return constructFloat(value);
    default:
      // Dates, `<<` or `=` used as values, custom `!tags`: Python objects that are not strings.
      return new PythonOpaque(tag, value);
  }
}

function constructInt(text: string): number | undefined {
  let digits = text.replaceAll("_", "");
  let sign = 1;
  if (digits.startsWith("-")) sign = -1;
  if (digits.startsWith("-") || digits.startsWith("+")) digits = digits.slice(1);
  let base = 10;
  if (digits.startsWith("0b")) base = 2;
  else if (digits.startsWith("0x")) base = 16;
  else if (digits.startsWith("0o")) base = 8;
  if (base !== 10) digits = digits.slice(2);
  const valid = { 2: /^[01]+$/, 8: /^[0-7]+$/, 10: /^[0-9]+$/, 16: /^[0-9a-fA-F]+$/ }[base];
  if (valid === undefined || !valid.test(digits)) return undefined;
  // In YAML 1.2 a leading zero does not mean octal: `010` is ten.
  const n = base === 10 ? Number(digits) : Number.parseInt(digits, base);
  return sign * n + 0; // `+ 0` turns -0 into 0, as Python ints have no negative zero
}

function constructFloat(text: string): number | PythonFloat | undefined {
  let body = text.replaceAll("_", "").toLowerCase();
  let sign = 1;
  if (body.startsWith("-")) sign = -1;
  if (body.startsWith("-") || body.startsWith("+")) body = body.slice(1);
  let n: number;
  if (body === ".inf") n = sign * Number.POSITIVE_INFINITY;
  else if (body === ".nan") n = Number.NaN;
  else {
    n = Number(body);
    if (Number.isNaN(n) || body === "") return undefined;
    n *= sign;
  }
  // A float JS would mistake for an int keeps its Python type in a wrapper.
  return Number.isInteger(n) || !Number.isFinite(n) ? new PythonFloat(n) : n;
}
