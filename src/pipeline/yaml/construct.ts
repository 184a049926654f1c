/**
 * Node tree → values, as the reference's round-trip constructor builds them: mappings keep file order, `<<` merge
 * keys copy the keys a mapping does not set itself (after its own keys), and a key repeated in one mapping is an
 * error that prints both values the Python way. Values are built depth first, so the first duplicate reported is
 * the same one the reference reports.
 */
import { PythonFloat, PythonOpaque, type PyValue, pyRepr, pyStr } from "../python.js";
import { markedError } from "./errors.js";
import type { MappingNode, ScalarNode, SequenceNode, YamlNode } from "./parser.js";
import { constructScalar, TAG } from "./resolve.js";

const SCALAR_TAGS = new Set<string>([
  TAG.str,
  TAG.int,
  TAG.float,
  TAG.bool,
  TAG.null,
  TAG.timestamp,
  TAG.merge,
  TAG.value,
  "tag:yaml.org,2002:binary",
]);
const SEQUENCE_TAGS = new Set<string>([TAG.seq, "tag:yaml.org,2002:omap", "tag:yaml.org,2002:pairs"]);
const MAPPING_TAGS = new Set<string>([TAG.map, "tag:yaml.org,2002:set"]);

export class Constructor {
  /** Collections already built, so an alias yields the same object (and is built once), as in Python. */
  private readonly built = new Map<YamlNode, PyValue>();

  constructor(private readonly source: string) {}

  construct(node: YamlNode): PyValue {
    if (node.kind === "scalar") return this.scalar(node);
    const done = this.built.get(node);
    if (done !== undefined) return done;
    const value = node.kind === "sequence" ? this.sequence(node) : this.mapping(node);
    this.built.set(node, value);
    return value;
  }

  private expectKind(node: YamlNode, kind: string): never {
    throw markedError(this.source, null, null, `expected a ${kind} node, but found ${node.kind}`, node.start);
  }

  private scalar(node: ScalarNode): PyValue {
    if (!node.explicitTag) {
      // An implicitly typed scalar that does not convert (`_` looks like an int) stays a string.
      const value = constructScalar(node.tag, node.value);
      return value === undefined ? node.value : value;
    }
    if (SEQUENCE_TAGS.has(node.tag)) this.expectKind(node, "sequence");
    if (MAPPING_TAGS.has(node.tag)) this.expectKind(node, "mapping");
    const value = constructScalar(node.tag, node.value);
    if (value === undefined) {
      throw markedError(
        this.source,
        "while constructing a scalar",
        null,
        `cannot read ${pyRepr(node.value)} as the explicitly tagged type ${node.tag}`,
        node.start,
      );
    }
    return value;
  }

  private sequence(node: SequenceNode): PyValue[] {
    if (SCALAR_TAGS.has(node.tag)) this.expectKind(node, "scalar");
    if (MAPPING_TAGS.has(node.tag)) this.expectKind(node, "mapping");
    return node.items.map((item) => this.construct(item));
  }

  private mapping(node: MappingNode): Map<PyValue, PyValue> {
    if (SCALAR_TAGS.has(node.tag)) this.expectKind(node, "scalar");
    if (SEQUENCE_TAGS.has(node.tag)) this.expectKind(node, "sequence");
    const merges = this.mergeSources(node);
    const map = new Map<PyValue, PyValue>();
    /** Python key identity (1, 1.0 and true are one key) → the key as first written. */
    const seen = new Map<string, PyValue>();
    for (const [keyNode, valueNode] of node.pairs) {
      if (keyNode.kind === "scalar" && keyNode.tag === TAG.merge) continue;
      // `=` is a string when used as a key.
      const key =
        keyNode.kind === "scalar" && keyNode.tag === TAG.value ? keyNode.value : this.construct(keyNode);
      const value = this.construct(valueNode);
      const identity = keyIdentity(key);
      if (identity !== null) {
        const original = seen.get(identity);
        if (original !== undefined) {
          throw markedError(
            this.source,
            "while constructing a mapping",
            node.start,
            `found duplicate key "${pyStr(key)}" with value "${pyStr(value)}" (original value: "${pyStr(map.get(original) ?? null)}")`,
            keyNode.start,
          );
        }
        seen.set(identity, key);
      }
      map.set(key, value);
    }
    for (const source of merges) {
      for (const [key, value] of source) {
        const identity = keyIdentity(key);
        if (identity !== null && seen.has(identity)) continue;
        if (identity !== null) seen.set(identity, key);
        map.set(key, value);
      }
    }
    return map;
  }

  /** The mappings named by `<<` keys, in order (earlier ones win). */
  private mergeSources(node: MappingNode): Array<Map<PyValue, PyValue>> {
    const sources: Array<Map<PyValue, PyValue>> = [];
    for (const [keyNode, valueNode] of node.pairs) {
      if (keyNode.kind !== "scalar" || keyNode.tag !== TAG.merge) continue;
      if (sources.length > 0) {
        throw markedError(
          this.source,
          "while constructing a mapping",
          node.start,
          `found duplicate key "${keyNode.value}"`,
          keyNode.start,
        );
      }
      if (valueNode.kind === "mapping") {
        sources.push(this.construct(valueNode) as Map<PyValue, PyValue>);
      } else if (valueNode.kind === "sequence") {
        for (const item of valueNode.items) {
          if (item.kind !== "mapping") {
            throw markedError(
              this.source,
              "while constructing a mapping",
              node.start,
              `expected a mapping for merging, but found ${item.kind}`,
              item.start,
            );
          }
          sources.push(this.construct(item) as Map<PyValue, PyValue>);
        }
      } else {
        throw markedError(
          this.source,
          "while constructing a mapping",
          node.start,
          `expected a mapping or list of mappings for merging, but found ${valueNode.kind}`,
          valueNode.start,
        );
      }
    }
    return sources;
  }
}

/** A string that is equal for keys Python considers equal; null for keys never equal to anything (NaN). */
function keyIdentity(key: PyValue): string | null {
  if (typeof key === "string") return `s${key}`;
  if (key === null) return "z";
  if (typeof key === "boolean") return key ? "n1" : "n0";
  if (typeof key === "number" || key instanceof PythonFloat) {
    const n = Number(key);
    return Number.isNaN(n) ? null : `n${String(n)}`;
  }
  if (key instanceof PythonOpaque) return `o${key.tag} ${key.text}`;
  return `r${pyRepr(key)}`;
}
