/** What Python's `float()` and `int()` accept, and what they make of it. */
import { PythonFloat } from "./values.js";

// The characters Python's str.strip() removes by default.
const PY_WHITESPACE =
  "\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const PY_STRIP = new RegExp(`^[${PY_WHITESPACE}]+|[${PY_WHITESPACE}]+$`, "g");
const FLOAT_TEXT = /^[+-]?(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?$/;
const FLOAT_WORD = /^([+-]?)(inf|infinity|nan)$/i;
const INT_TEXT = /^[+-]?\d(?:_?\d)*$/;

/** Python's `float(value)`, or undefined where Python raises TypeError/ValueError. */
export function pyFloat(value: unknown): number | undefined {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "number") return value;
  if (value instanceof PythonFloat) return value.value;
  if (typeof value !== "string") return undefined;
  const text = value.replace(PY_STRIP, "");
  const word = FLOAT_WORD.exec(text);
  if (word) {
    if ((word[2] ?? "").toLowerCase() === "nan") return Number.NaN;
    return word[1] === "-" ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }
  return FLOAT_TEXT.test(text) ? Number(text.replaceAll("_", "")) : undefined;
}

/** Python's `int(value)` (truncating floats), or undefined where Python raises. */
export function pyInt(value: unknown): number | undefined {
  if (typeof value === "boolean") return value ? 1 : 0;
  const number = value instanceof PythonFloat ? value.value : value;
  if (typeof number === "number") return Number.isFinite(number) ? Math.trunc(number) : undefined;
  if (typeof value !== "string") return undefined;
  const text = value.replace(PY_STRIP, "");
  return INT_TEXT.test(text) ? Number(text.replaceAll("_", "")) : undefined;
}
