/**
 * The handful of Python behaviours the reference's messages and results depend on: how values print (`str`/`repr`),
 * and what `float()` and `int()` accept. Values come from the YAML loader, whose model is:
 * string, boolean, null, number (a Python int when integral, else a float), PythonFloat (a float JS cannot tell from
 * an int: `1.0`, `inf`, `nan`), PythonOpaque (a date or explicitly tagged scalar: exists in Python, is not a str),
 * arrays, and Maps (YAML mappings, keys of any of these types, in file order).
 */

/** A Python float whose JS number would read as an int (`1.0`) or is not finite; `json.dumps` prints it as `1.0`. */
export class PythonFloat {
  constructor(readonly value: number) {}
  valueOf(): number {
    return this.value;
  }
  toJSON(): number {
    return this.value;
  }
}

/** A scalar that Python builds as something other than str/int/float/bool/None (a date, a custom `!tag` value). */
export class PythonOpaque {
  constructor(
    readonly tag: string,
    readonly text: string,
  ) {}
  toJSON(): string {
    return this.text;
  }
}

export type PyValue =
  | null
  | boolean
  | number
  | string
  | PythonFloat
  | PythonOpaque
  | PyValue[]
  | Map<PyValue, PyValue>;

/** Python's `repr(float)`: shortest round-trip digits, exponent form outside [1e-4, 1e16). */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (x === Number.POSITIVE_INFINITY) return "inf";
  if (x === Number.NEGATIVE_INFINITY) return "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  // toExponential() without an argument gives the same shortest digits as Python's repr.
  const [mantissa = "", exponentText = "0"] = x.toExponential().split("e");
  const exponent = Number(exponentText);
  const sign = mantissa.startsWith("-") ? "-" : "";
  const digits = mantissa.replace("-", "").replace(".", "");
  if (exponent < -4 || exponent >= 16) {
    const rest = digits.length > 1 ? `.${digits.slice(1)}` : "";
    const expSign = exponent < 0 ? "-" : "+";
    return `${sign}${digits[0]}${rest}e${expSign}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  const point = exponent + 1;
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${"0".repeat(point - digits.length)}.0`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** Python's `repr(int)` for an integral JS number (exact digits even past 2**53, where String() switches to e+). */
export function pyIntRepr(n: number): string {
  return Number.isSafeInteger(n) ? String(n) : BigInt(n).toString();
}

/** True when the value is a Python float (as opposed to an int, which is an integral JS number). */
export function isPyFloat(value: unknown): value is number | PythonFloat {
  return value instanceof PythonFloat || (typeof value === "number" && !Number.isInteger(value));
}

function pyNumberRepr(n: number | PythonFloat): string {
  if (n instanceof PythonFloat) return pyFloatRepr(n.value);
  return Number.isInteger(n) ? pyIntRepr(n) : pyFloatRepr(n);
}

// Characters Python's str.isprintable() rejects: control, format, surrogate, private, unassigned, separators.
const NOT_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/** Python's `repr(str)`. */
export function pyStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === quote || ch === "\\") out += `\\${ch}`;
    else if (ch === "\t") out += "\\t";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (code < 0x20 || code === 0x7f) out += `\\x${hex(code, 2)}`;
    else if (code < 0x7f || ch === " " || !NOT_PRINTABLE.test(ch)) out += ch;
    else if (code <= 0xff) out += `\\x${hex(code, 2)}`;
    else if (code <= 0xffff) out += `\\u${hex(code, 4)}`;
    else out += `\\U${hex(code, 8)}`;
  }
  return out + quote;
}

function hex(code: number, width: number): string {
  return code.toString(16).padStart(width, "0");
}

/** Python's `repr()` of a loaded YAML value (mappings print as ruamel's `ordereddict([...])`). */
export function pyRepr(value: PyValue): string {
  if (value === null) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "string") return pyStrRepr(value);
  if (typeof value === "number" || value instanceof PythonFloat) return pyNumberRepr(value);
  if (value instanceof PythonOpaque) return opaqueRepr(value);
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(", ")}]`;
  if (value.size === 0) return "ordereddict()";
  const items = [...value].map(([k, v]) => `(${pyRepr(k)}, ${pyRepr(v)})`);
  return `ordereddict([${items.join(", ")}])`;
}

function opaqueRepr(value: PythonOpaque): string {
  const date = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value.text);
  if (value.tag === "tag:yaml.org,2002:timestamp" && date) {
    return `datetime.date(${Number(date[1])}, ${Number(date[2])}, ${Number(date[3])})`;
  }
  return pyStrRepr(value.text);
}

/** Python's `str()`: strings print bare, everything else as its repr. */
export function pyStr(value: PyValue): string {
  if (typeof value === "string") return value;
  if (value instanceof PythonOpaque) return value.text;
  return pyRepr(value);
}

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
