/**
 * Request bodies are parsed the way the reference's Python `json.loads` reads them, into values that keep what
 * JavaScript's JSON.parse loses but validation messages need to print faithfully (reference/scenarios.md §0.8):
 * integers stay exact (`bigint`, like Python `int`), floats stay floats (`number`, or a PythonFloat where the
 * number would read as an int: `1.0`, `NaN`), and objects are `Map`s so keys keep their textual order (JSON.parse
 * moves integer-like keys first). These are values of the model in values.ts.
 *
 * Python's extensions are accepted too (`NaN`, `Infinity`, `-Infinity`). Nesting deeper than MAX_DEPTH is refused
 * rather than recursed into (Python would crash with RecursionError at about 1,000 levels). Integers of more than
 * 4,300 digits are refused as Python's json refuses them (converting them costs time quadratic in their length).
 */
import { PythonFloat } from "./values.js";

export type JsonValue = null | boolean | bigint | number | PythonFloat | string | JsonValue[] | JsonObject;
export type JsonObject = Map<string, JsonValue>;

export class JsonSyntaxError extends Error {
  readonly code = "JSON_SYNTAX";
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} at position ${position}`);
    this.name = "JsonSyntaxError";
  }
}

/** Nesting deeper than MAX_DEPTH, told apart so that a caller can say so. */
export class JsonTooDeepError extends JsonSyntaxError {
  constructor(position: number) {
    super("Nesting too deep", position);
    this.name = "JsonTooDeepError";
  }
}

/** Deeper nesting is refused (JsonTooDeepError). */
export const MAX_DEPTH = 256;
/** Python's `sys.get_int_max_str_digits()` default. */
const MAX_INT_DIGITS = 4300;
const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/y;
// biome-ignore lint/suspicious/noControlCharactersInRegex: a run of plain characters ends at a raw control character, which JSON strings may not contain
const PLAIN_CHARS = /[^"\\\u0000-\u001f]*/y;
const ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

class Parser {
  private pos = 0;

  constructor(private readonly text: string) {}

  parseDocument(): JsonValue {
    this.skipWhitespace();
    const value = this.parseValue(0);
    this.skipWhitespace();
    if (this.pos !== this.text.length) this.fail("Extra data");
    return value;
  }

  private fail(message: string): never {
    throw new JsonSyntaxError(message, this.pos);
  }

  private skipWhitespace(): void {
    const text = this.text;
    let pos = this.pos;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      pos++;
    }
    this.pos = pos;
  }

  private parseValue(depth: number): JsonValue {
    const c = this.text[this.pos];
    switch (c) {
      case "{":
        return this.parseObject(depth + 1);
      case "[":
        return this.parseArray(depth + 1);
      case '"':
        return this.parseString();
      case "n":
        return this.literal("null", null);
      case "t":
        return this.literal("true", true);
      case "f":
        return this.literal("false", false);
      case "N":
        return this.literal("NaN", new PythonFloat(Number.NaN));
      case "I":
        return this.literal("Infinity", new PythonFloat(Number.POSITIVE_INFINITY));
      default:
        if (this.text.startsWith("-Infinity", this.pos))
          return this.literal("-Infinity", new PythonFloat(Number.NEGATIVE_INFINITY));
        return this.parseNumber();
    }
  }

  private literal<T extends JsonValue>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail("Expecting value");
    this.pos += word.length;
    return value;
  }

  private parseNumber(): bigint | number | PythonFloat {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (!match) this.fail("Expecting value");
    this.pos += match[0].length;
    if (match[1] === undefined && match[2] === undefined) {
      const digits = match[0].length - (match[0].startsWith("-") ? 1 : 0);
      if (digits > MAX_INT_DIGITS) {
        this.pos -= match[0].length;
        this.fail(`Integer of ${digits} digits exceeds the limit of ${MAX_INT_DIGITS} digits`);
      }
      return BigInt(match[0]);
    }
    const float = Number(match[0]);
    return Number.isInteger(float) || !Number.isFinite(float) ? new PythonFloat(float) : float;
  }

  private parseString(): string {
    const text = this.text;
    this.pos++; // opening quote
    let out = "";
    for (;;) {
      PLAIN_CHARS.lastIndex = this.pos;
      const chunk = PLAIN_CHARS.exec(text)![0];
      out += chunk;
      this.pos += chunk.length;
      const c = text[this.pos];
      if (c === '"') {
        this.pos++;
        return out;
      }
      if (c !== "\\") this.fail(c === undefined ? "Unterminated string" : "Invalid control character");
      const escaped = text[this.pos + 1];
      if (escaped === "u") {
        const hex = text.slice(this.pos + 2, this.pos + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail("Invalid \\uXXXX escape");
        out += String.fromCharCode(Number.parseInt(hex, 16));
        this.pos += 6;
      } else {
        const decoded = escaped === undefined ? undefined : ESCAPES[escaped];
        if (decoded === undefined) this.fail("Invalid \\escape");
        out += decoded;
        this.pos += 2;
      }
    }
  }

  private parseArray(depth: number): JsonValue[] {
    if (depth > MAX_DEPTH) throw new JsonTooDeepError(this.pos);
    this.pos++;
    const items: JsonValue[] = [];
    this.skipWhitespace();
    if (this.text[this.pos] === "]") {
      this.pos++;
      return items;
    }
    for (;;) {
      this.skipWhitespace();
      items.push(this.parseValue(depth));
      this.skipWhitespace();
      const c = this.text[this.pos++];
      if (c === "]") return items;
      if (c !== ",") this.fail("Expecting ',' delimiter");
    }
  }

  private parseObject(depth: number): JsonObject {
    if (depth > MAX_DEPTH) throw new JsonTooDeepError(this.pos);
    this.pos++;
    const object: JsonObject = new Map();
    this.skipWhitespace();
    if (this.text[this.pos] === "}") {
      this.pos++;
      return object;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.pos] !== '"') this.fail("Expecting property name enclosed in double quotes");
      const key = this.parseString();
      this.skipWhitespace();
      if (this.text[this.pos++] !== ":") this.fail("Expecting ':' delimiter");
      this.skipWhitespace();
      // A repeated key keeps its first position and takes the last value, as a Python dict does.
      object.set(key, this.parseValue(depth));
      this.skipWhitespace();
      const c = this.text[this.pos++];
      if (c === "}") return object;
      if (c !== ",") this.fail("Expecting ',' delimiter");
    }
  }
}

export function parsePythonJson(text: string): JsonValue {
  return new Parser(text).parseDocument();
}

/** The value as plain JSON data (objects for Maps, numbers for ints and floats), for code that needs no more. */
export function toPlain(value: JsonValue): unknown {
  if (typeof value === "bigint") return Number(value);
  if (value instanceof PythonFloat) return value.value;
  if (Array.isArray(value)) return value.map(toPlain);
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [k, toPlain(v)]));
  return value;
}
