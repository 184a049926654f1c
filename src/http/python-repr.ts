/**
 * Python's `repr()` for JSON values, as the reference prints them inside validation messages
 * (`'abc'`, `None`, `True`, `1.0`, `[1, 'a']`, `{'a': 1}`). job-server shows these messages to users verbatim.
 * Values are either parsed request bodies (PyValue) or plain values from our OpenAPI document (enums, patterns).
 */
import { ECHO_LIMIT, echo } from "../domain/echo.js";
import type { PyValue } from "./python-json.js";

type Reprable = PyValue | readonly Reprable[] | { readonly [key: string]: Reprable };

// str.isprintable() is false for these general categories (the ASCII space aside).
const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;
const NEEDS_ESCAPE = /[^ -~]|['"\\]/;

function hex(codePoint: number, width: number): string {
  return codePoint.toString(16).padStart(width, "0");
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

export function reprString(value: string): string {
  return reprWithQuote(value, quoteFor(value));
}

/** Python prefers single quotes and switches to double quotes only to avoid escaping a single quote. */
function quoteFor(value: string): string {
  return value.includes("'") && !value.includes('"') ? '"' : "'";
}

function reprWithQuote(value: string, quote: string): string {
  if (!NEEDS_ESCAPE.test(value)) return `${quote}${value}${quote}`;
  let out = quote;
  for (const char of value) out += escapeChar(char, quote);
  return out + quote;
}

/** Python's float repr: the shortest round-trip digits, scientific below 1e-4 or from 1e16 on. */
export function reprFloat(value: number): string {
  if (Number.isNaN(value)) return "nan";
  if (value === Number.POSITIVE_INFINITY) return "inf";
  if (value === Number.NEGATIVE_INFINITY) return "-inf";
  if (value === 0) return Object.is(value, -0) ? "-0.0" : "0.0";
  const [mantissa, exponentText] = Math.abs(value).toExponential().split("e") as [string, string];
  const digits = mantissa.replace(".", "");
  const exponent = Number(exponentText);
  const sign = value < 0 ? "-" : "";
  if (exponent < -4 || exponent >= 16) {
    const fraction = digits.length > 1 ? `.${digits.slice(1)}` : "";
    const expSign = exponent < 0 ? "-" : "+";
    return `${sign}${digits[0]}${fraction}e${expSign}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  if (exponent < 0) return `${sign}0.${"0".repeat(-exponent - 1)}${digits}`;
  const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, "0");
  const fraction = digits.slice(exponent + 1) || "0";
  return `${sign}${whole}.${fraction}`;
}

export function pythonRepr(value: Reprable): string {
  if (value === null) return "None";
  switch (typeof value) {
    case "boolean":
      return value ? "True" : "False";
    case "bigint":
      return value.toString();
    case "number":
      // Python ints arrive as bigint (from request bodies and from our YAML alike), so a number is a float.
      return reprFloat(value);
    case "string":
      return reprString(value);
  }
  if (Array.isArray(value)) return `[${value.map(pythonRepr).join(", ")}]`;
  const entries = value instanceof Map ? [...value] : Object.entries(value);
  return `{${entries.map(([k, v]) => `${reprString(k)}: ${pythonRepr(v as Reprable)}`).join(", ")}}`;
}

/**
 * The first ECHO_LIMIT characters of the value's repr, then `…` if there is more: what an error message may repeat
 * of a client's value. Only as much of the value as shows is ever turned into text.
 */
export function shortRepr(value: PyValue, limit = ECHO_LIMIT): string {
  let out = "";
  // Appends until the text is past the limit; false once it is, to stop the walk.
  const put = (text: string) => {
    out += text;
    return out.length <= limit;
  };
  const write = (v: PyValue): boolean => {
    if (typeof v === "string") {
      // Escaping only ever lengthens, so a prefix of the string gives the repr's prefix (the quote needs it all).
      return put(reprWithQuote(v.length > limit ? v.slice(0, limit) : v, quoteFor(v)));
    }
    if (Array.isArray(v)) {
      if (!put("[")) return false;
      for (let i = 0; i < v.length; i++) if ((i > 0 && !put(", ")) || !write(v[i]!)) return false;
      return put("]");
    }
    if (v instanceof Map) {
      if (!put("{")) return false;
      let first = true;
      for (const [key, item] of v) {
        if ((!first && !put(", ")) || !write(key) || !put(": ") || !write(item)) return false;
        first = false;
      }
      return put("}");
    }
    return put(pythonRepr(v));
  };
  write(value);
  return echo(out, limit);
}
