/**
 * The value model the Python helpers work on: what the reference's Python holds after loading project.yaml (ruamel)
 * or a request body (`json.loads`), in JavaScript terms.
 *
 * - null, boolean, string: None, bool, str.
 * - bigint: an int (request bodies keep ints exact this way).
 * - number: an int when integral, else a float (the YAML loader's ints are numbers).
 * - PythonFloat: a float JavaScript cannot tell from an int (`1.0`) or that is not finite (`inf`, `nan`).
 * - PythonOpaque: a scalar Python builds as something else again (a date, a custom `!tag` value).
 * - arrays: lists; Maps: dicts or ruamel's ordered mappings, keys in insertion order.
 */

/** A Python float whose JS number would read as an int (`1.0`) or is not finite; it prints as `1.0`. */
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
  | bigint
  | number
  | string
  | PythonFloat
  | PythonOpaque
  | PyValue[]
  | Map<PyValue, PyValue>;

/** True when the value is a Python float (as opposed to an int: a bigint or an integral JS number). */
export function isPyFloat(value: unknown): value is number | PythonFloat {
  return value instanceof PythonFloat || (typeof value === "number" && !Number.isInteger(value));
}
