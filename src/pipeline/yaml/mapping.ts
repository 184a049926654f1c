/**
 * One mapping being filled, as the reference's round-trip constructor fills it: own keys in file order (a repeated
 * key is an error that prints both values the Python way), then `<<` merge sources for the keys the mapping does
 * not set itself.
 */
import { pyRepr, pyStr } from "../../python/repr.js";
import { PythonFloat, PythonOpaque, type PyValue } from "../../python/values.js";
import type { Mark } from "./errors.js";
import { TAG } from "./resolve.js";

export type Kind = "scalar" | "sequence" | "mapping";

/** Where construction errors go: held back by the composer until the document has parsed. */
export type DeferError = (context: string, contextMark: Mark, problem: string, problemMark: Mark) => void;

/**
 * One mapping being filled: own keys in file order (a repeated key is an error), `<<` merge sources applied at the
 * end for the keys the mapping does not set itself.
 */
export class MappingBuilder {
  readonly map = new Map<PyValue, PyValue>();
  size = 1;
  /** Keys that are not strings, by Python equality (1, 1.0 and true are one key). */
  private otherKeys: Map<unknown, PyValue> | null = null;
  private merges: Array<Map<PyValue, PyValue>> | null = null;
  private key: PyValue = null;
  private keyTag = "";
  private keyKind: Kind = "scalar";
  private keyStart: Mark;
  /** For the value of a `<<` key: where the items of a sequence start. */
  mergeItemStarts: Mark[] | null = null;

  constructor(
    private readonly deferError: DeferError,
    readonly start: Mark,
  ) {
    this.keyStart = start;
  }

  setKey(key: PyValue, tag: string, kind: Kind, start: Mark, size: number): void {
    this.key = key;
    this.keyTag = tag;
    this.keyKind = kind;
    this.keyStart = start;
    this.size += size;
    this.mergeItemStarts = kind === "scalar" && tag === TAG.merge ? [] : null;
  }

  add(value: PyValue, valueKind: Kind, valueStart: Mark, valueSize: number): void {
    this.size += valueSize;
    const keyIsScalar = this.keyKind === "scalar";
    if (keyIsScalar && this.keyTag === TAG.merge) {
      this.addMerge(value, valueKind, valueStart);
      return;
    }
    // `=` is a string when used as a key.
    const key = keyIsScalar && this.keyTag === TAG.value && this.key instanceof PythonOpaque ? "=" : this.key;
    if (this.has(key)) {
      this.deferError(
        "while constructing a mapping",
        this.start,
        `found duplicate key "${pyStr(key, "ordereddict")}" with value "${pyStr(value, "ordereddict")}" (original value: "${pyStr(this.get(key), "ordereddict")}")`,
        this.keyStart,
      );
      return;
    }
    if (typeof key !== "string") this.remember(key);
    this.map.set(key, value);
  }

  private has(key: PyValue): boolean {
    if (typeof key === "string") return this.map.has(key);
    const identity = keyIdentity(key);
    return identity !== undefined && (this.otherKeys?.has(identity) ?? false);
  }

  private get(key: PyValue): PyValue {
    if (typeof key === "string") return this.map.get(key) ?? null;
    const original = this.otherKeys?.get(keyIdentity(key));
    return original === undefined ? null : (this.map.get(original) ?? null);
  }

  private remember(key: PyValue): void {
    const identity = keyIdentity(key);
    if (identity === undefined) return;
    this.otherKeys ??= new Map();
    this.otherKeys.set(identity, key);
  }

  private addMerge(value: PyValue, kind: Kind, start: Mark): void {
    const itemStarts = this.mergeItemStarts;
    if (this.merges !== null && this.merges.length > 0) {
      this.deferError("while constructing a mapping", this.start, 'found duplicate key "<<"', this.keyStart);
      return;
    }
    this.merges ??= [];
    if (kind === "mapping" && value instanceof Map) {
      this.merges.push(value);
    } else if (kind === "sequence" && Array.isArray(value)) {
      value.forEach((item, index) => {
        if (item instanceof Map) (this.merges as Array<Map<PyValue, PyValue>>).push(item);
        else {
          const itemKind = Array.isArray(item) ? "sequence" : "scalar";
          this.deferError(
            "while constructing a mapping",
            this.start,
            `expected a mapping for merging, but found ${itemKind}`,
            itemStarts?.[index] ?? start,
          );
        }
      });
    } else {
      this.deferError(
        "while constructing a mapping",
        this.start,
        `expected a mapping or list of mappings for merging, but found ${kind}`,
        start,
      );
    }
  }

  /** Adds the merged keys the mapping does not set itself, earlier sources first. */
  mergeIn(): void {
    if (this.merges === null) return;
    for (const source of this.merges) {
      for (const [key, value] of source) {
        if (this.has(key)) continue;
        if (typeof key !== "string") this.remember(key);
        this.map.set(key, value);
      }
    }
  }
}

/** Python equality for keys that are not strings; undefined for keys equal to nothing (NaN). */
function keyIdentity(key: PyValue): unknown {
  if (key === null || typeof key === "boolean") return key === null ? null : Number(key);
  if (typeof key === "number" || key instanceof PythonFloat) {
    const n = Number(key);
    return Number.isNaN(n) ? undefined : n;
  }
  return `${key instanceof PythonOpaque ? `${key.tag} ${key.text}` : pyRepr(key, "ordereddict")}`;
}
