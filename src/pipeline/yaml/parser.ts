/**
 * Tokens → a node tree for the single document of the stream, with anchors and aliases resolved to shared nodes.
 * The structure follows the reference's parser grammar (block/flow collections, indentless sequences, empty
 * values), consuming tokens in the same order, so errors come out at the same place with the same wording.
 */
import { pyStrRepr } from "../python.js";
import type { Mark, YamlError } from "./errors.js";
import { resolvePlainTag, TAG } from "./resolve.js";
import { type Scanner, T, type Token, type TokenType, tokenName } from "./scanner.js";

export class ScalarNode {
  readonly kind = "scalar";
  readonly size = 1;
  constructor(
    readonly tag: string,
    readonly value: string,
    readonly start: Mark,
    /** The tag was written in the file (`!!int 3`) rather than resolved from the text. */
    readonly explicitTag: boolean,
  ) {}
}

export class SequenceNode {
  readonly kind = "sequence";
  readonly items: YamlNode[] = [];
  /** How many nodes this stands for once aliases are expanded; -1 while its children are still being read. */
  size = -1;
  constructor(
    readonly tag: string,
    readonly start: Mark,
  ) {}
}

export class MappingNode {
  readonly kind = "mapping";
  readonly pairs: Array<[YamlNode, YamlNode]> = [];
  size = -1;
  constructor(
    readonly tag: string,
    readonly start: Mark,
  ) {}
}

export type YamlNode = ScalarNode | SequenceNode | MappingNode;

/**
 * Aliases let a small file describe a huge tree ("billion laughs"). Everything downstream walks the expanded tree,
 * so the total that aliases add is capped; real project files use a handful of aliases, if any.
 */
export const MAX_ALIAS_EXPANSION = 1_000_000;

const DEFAULT_TAG_HANDLES: ReadonlyArray<[string, string]> = [
  ["!", "!"],
  ["!!", "tag:yaml.org,2002:"],
];

export class Composer {
  private anchors = new Map<string, YamlNode>();
  private tagHandles = new Map<string, string>(DEFAULT_TAG_HANDLES);
  private aliasExpansion = 0;

  constructor(private readonly scanner: Scanner) {}

  /** The one document of the stream (null for an empty stream); a second document is an error. */
  composeSingleDocument(): YamlNode | null {
    this.scanner.getToken(); // the stream start
    const first = this.documentStart(true);
    if (first === null) return null;
    const node = this.documentContent(first.explicit);
    if (this.check(T.DocumentEnd)) this.scanner.getToken();
    const next = this.documentStart(false);
    if (next !== null) {
      throw this.error(
        "expected a single document in the stream",
        first.mark,
        "but found another document",
        next.mark,
      );
    }
    return node;
  }

  private check(type: TokenType): boolean {
    return this.scanner.check(type);
  }

  private peek(): Token {
    return this.scanner.peekToken();
  }

  private error(
    context: string | null,
    contextMark: Mark | null,
    problem: string,
    problemMark: Mark,
  ): YamlError {
    return this.scanner.error(context, contextMark, problem, problemMark);
  }

  /** Starts the next document; null at the end of the stream. */
  private documentStart(first: boolean): { mark: Mark; explicit: boolean } | null {
    if (first && !this.check(T.Directive) && !this.check(T.DocumentStart) && !this.check(T.StreamEnd)) {
      return { mark: this.peek().start, explicit: false };
    }
    while (this.check(T.DocumentEnd)) this.scanner.getToken();
    if (this.check(T.StreamEnd)) return null;
    this.processDirectives();
    if (!this.check(T.DocumentStart)) {
      const token = this.peek();
      throw this.error(null, null, `expected '<document start>', but found ${tokenName(token)}`, token.start);
    }
    return { mark: this.scanner.getToken().start, explicit: true };
  }

  private processDirectives(): void {
    let version: string | null = null;
    this.tagHandles = new Map();
    while (this.check(T.Directive)) {
      const token = this.scanner.getToken();
      if (token.value === "YAML") {
        if (version !== null) throw this.error(null, null, "found duplicate YAML directive", token.start);
        if (token.args[0] !== "1") {
          throw this.error(
            null,
            null,
            "found incompatible YAML document (version 1.* is required)",
            token.start,
          );
        }
        version = token.args.join(".");
      } else if (token.value === "TAG") {
        const [handle = "", prefix = ""] = token.args;
        if (this.tagHandles.has(handle)) {
          throw this.error(null, null, `duplicate tag handle ${pyStrRepr(handle)}`, token.start);
        }
        this.tagHandles.set(handle, prefix);
      }
    }
    for (const [handle, prefix] of DEFAULT_TAG_HANDLES) {
      if (!this.tagHandles.has(handle)) this.tagHandles.set(handle, prefix);
    }
  }

  private documentContent(explicit: boolean): YamlNode {
    if (
      explicit &&
      (this.check(T.Directive) ||
        this.check(T.DocumentStart) ||
        this.check(T.DocumentEnd) ||
        this.check(T.StreamEnd))
    ) {
      return this.emptyScalar(this.peek().start);
    }
    return this.node(true, false);
  }

  private emptyScalar(mark: Mark): ScalarNode {
    return new ScalarNode(TAG.null, "", mark, false);
  }

  /**
   * One node: an alias, or optional properties (anchor, tag) then content. `block` allows block collections;
   * `indentlessSequence` allows a `- item` list at the same indentation as its mapping key.
   */
  private node(block: boolean, indentlessSequence: boolean): YamlNode {
    if (this.check(T.Alias)) return this.alias(this.scanner.getToken());
    let anchor: string | null = null;
    let tag: string | null = null;
    let start: Mark | null = null;
    let tagToken: Token | null = null;
    if (this.check(T.Anchor)) {
      const token = this.scanner.getToken();
      start = token.start;
      anchor = token.value;
      if (this.check(T.Tag)) tagToken = this.scanner.getToken();
    } else if (this.check(T.Tag)) {
      tagToken = this.scanner.getToken();
      start = tagToken.start;
      if (this.check(T.Anchor)) anchor = this.scanner.getToken().value;
    }
    if (tagToken !== null) tag = this.tagOf(tagToken, start as Mark);
    if (start === null) start = this.peek().start;
    // The non-specific tag `!` behaves like no tag at all, as in the reference.
    const implicit = tag === null || tag === "!";

    if (indentlessSequence && this.check(T.BlockEntry)) {
      return this.indentlessSequence(new SequenceNode(implicit ? TAG.seq : (tag as string), start), anchor);
    }
    if (this.check(T.Scalar)) {
      const token = this.scanner.getToken();
      let resolved: string;
      if (implicit && (token.plain || tag === "!")) resolved = resolvePlainTag(token.value);
      else resolved = implicit ? TAG.str : (tag as string);
      return this.register(anchor, new ScalarNode(resolved, token.value, start, !implicit));
    }
    if (this.check(T.FlowSequenceStart)) {
      return this.flowSequence(new SequenceNode(implicit ? TAG.seq : (tag as string), start), anchor);
    }
    if (this.check(T.FlowMappingStart)) {
      return this.flowMapping(new MappingNode(implicit ? TAG.map : (tag as string), start), anchor);
    }
    if (block && this.check(T.BlockSequenceStart)) {
      return this.blockSequence(new SequenceNode(implicit ? TAG.seq : (tag as string), start), anchor);
    }
    if (block && this.check(T.BlockMappingStart)) {
      return this.blockMapping(new MappingNode(implicit ? TAG.map : (tag as string), start), anchor);
    }
    if (anchor !== null || tag !== null) {
      // Properties with no content: an empty scalar.
      const resolved = implicit ? TAG.null : (tag as string);
      return this.register(anchor, new ScalarNode(resolved, "", start, !implicit));
    }
    const token = this.peek();
    throw this.error(
      `while parsing a ${block ? "block" : "flow"} node`,
      start,
      `expected the node content, but found ${tokenName(token)}`,
      token.start,
    );
  }

  private tagOf(token: Token, start: Mark): string {
    if (token.handle === null) return token.value;
    const prefix = this.tagHandles.get(token.handle);
    if (prefix === undefined) {
      throw this.error(
        "while parsing a node",
        start,
        `found undefined tag handle ${pyStrRepr(token.handle)}`,
        token.start,
      );
    }
    return prefix + token.value;
  }

  private alias(token: Token): YamlNode {
    const target = this.anchors.get(token.value);
    if (target === undefined) {
      throw this.error(null, null, `found undefined alias ${pyStrRepr(token.value)}`, token.start);
    }
    if (target.size < 0) {
      // The reference would build a structure that contains itself; nothing downstream could use it.
      throw this.error(null, null, `found recursive alias ${pyStrRepr(token.value)}`, token.start);
    }
    this.aliasExpansion += target.size;
    if (this.aliasExpansion > MAX_ALIAS_EXPANSION) {
      throw this.error(
        null,
        null,
        `found too many alias expansions: aliases expand the document by more than ${MAX_ALIAS_EXPANSION} nodes`,
        token.start,
      );
    }
    return target;
  }

  private register<N extends YamlNode>(anchor: string | null, node: N): N {
    // A repeated anchor name simply takes over from the earlier one, as in the reference.
    if (anchor !== null) this.anchors.set(anchor, node);
    return node;
  }

  private finish(node: SequenceNode | MappingNode, children: readonly YamlNode[]): void {
    let size = 1;
    for (const child of children) size += child.size;
    node.size = Math.min(size, MAX_ALIAS_EXPANSION + 1);
  }

  private blockSequence(node: SequenceNode, anchor: string | null): SequenceNode {
    this.register(anchor, node);
    const start = this.scanner.getToken().start;
    while (this.check(T.BlockEntry)) {
      const entry = this.scanner.getToken();
      node.items.push(
        this.check(T.BlockEntry) || this.check(T.BlockEnd)
          ? this.emptyScalar(entry.end)
          : this.node(true, false),
      );
    }
    if (!this.check(T.BlockEnd)) {
      const token = this.peek();
      throw this.error(
        "while parsing a block collection",
        start,
        `expected <block end>, but found ${tokenName(token)}`,
        token.start,
      );
    }
    this.scanner.getToken();
    this.finish(node, node.items);
    return node;
  }

  private indentlessSequence(node: SequenceNode, anchor: string | null): SequenceNode {
    this.register(anchor, node);
    while (this.check(T.BlockEntry)) {
      const entry = this.scanner.getToken();
      const empty =
        this.check(T.BlockEntry) || this.check(T.Key) || this.check(T.Value) || this.check(T.BlockEnd);
      node.items.push(empty ? this.emptyScalar(entry.end) : this.node(true, false));
    }
    this.finish(node, node.items);
    return node;
  }

  private blockMapping(node: MappingNode, anchor: string | null): MappingNode {
    this.register(anchor, node);
    const start = this.scanner.getToken().start;
    const children: YamlNode[] = [];
    for (;;) {
      let key: YamlNode;
      if (this.check(T.Key)) {
        const token = this.scanner.getToken();
        key = this.blockValueOrEmpty(token.end);
      } else if (this.check(T.Value)) {
        // YAML 1.2: a `:` with no key before it is an empty key.
        key = this.emptyScalar(this.peek().start);
      } else {
        break;
      }
      let value: YamlNode;
      if (this.check(T.Value)) {
        const token = this.scanner.getToken();
        value = this.blockValueOrEmpty(token.end);
      } else {
        value = this.emptyScalar(this.peek().start);
      }
      node.pairs.push([key, value]);
      children.push(key, value);
    }
    if (!this.check(T.BlockEnd)) {
      const token = this.peek();
      throw this.error(
        "while parsing a block mapping",
        start,
        `expected <block end>, but found ${tokenName(token)}`,
        token.start,
      );
    }
    this.scanner.getToken();
    this.finish(node, children);
    return node;
  }

  private blockValueOrEmpty(emptyMark: Mark): YamlNode {
    if (this.check(T.Key) || this.check(T.Value) || this.check(T.BlockEnd))
      return this.emptyScalar(emptyMark);
    return this.node(true, true);
  }

  private flowSequence(node: SequenceNode, anchor: string | null): SequenceNode {
    this.register(anchor, node);
    const start = this.scanner.getToken().start;
    let first = true;
    while (!this.check(T.FlowSequenceEnd)) {
      if (!first) {
        if (!this.check(T.FlowEntry)) {
          const token = this.peek();
          throw this.error(
            "while parsing a flow sequence",
            start,
            `expected ',' or ']', but got ${tokenName(token)}`,
            token.start,
          );
        }
        this.scanner.getToken();
      }
      first = false;
      if (this.check(T.Key)) {
        // `[a: b]` is a sequence holding a one-pair mapping.
        const keyToken = this.scanner.getToken();
        const pair = new MappingNode(TAG.map, keyToken.start);
        const key =
          this.check(T.Value) || this.check(T.FlowEntry) || this.check(T.FlowSequenceEnd)
            ? this.emptyScalar(keyToken.end)
            : this.node(false, false);
        const value = this.flowPairValue(T.FlowSequenceEnd);
        pair.pairs.push([key, value]);
        this.finish(pair, [key, value]);
        node.items.push(pair);
      } else if (!this.check(T.FlowSequenceEnd)) {
        node.items.push(this.node(false, false));
      }
    }
    this.scanner.getToken();
    this.finish(node, node.items);
    return node;
  }

  private flowMapping(node: MappingNode, anchor: string | null): MappingNode {
    this.register(anchor, node);
    const start = this.scanner.getToken().start;
    const children: YamlNode[] = [];
    let first = true;
    while (!this.check(T.FlowMappingEnd)) {
      if (!first) {
        if (!this.check(T.FlowEntry)) {
          const token = this.peek();
          throw this.error(
            "while parsing a flow mapping",
            start,
            `expected ',' or '}', but got ${tokenName(token)}`,
            token.start,
          );
        }
        this.scanner.getToken();
      }
      first = false;
      let key: YamlNode;
      let value: YamlNode;
      if (this.check(T.Key)) {
        const keyToken = this.scanner.getToken();
        key =
          this.check(T.Value) || this.check(T.FlowEntry) || this.check(T.FlowMappingEnd)
            ? this.emptyScalar(keyToken.end)
            : this.node(false, false);
        value = this.flowPairValue(T.FlowMappingEnd);
      } else if (this.check(T.Value)) {
        key = this.emptyScalar(this.peek().end);
        value = this.flowPairValue(T.FlowMappingEnd);
      } else if (!this.check(T.FlowMappingEnd)) {
        key = this.node(false, false);
        value = this.emptyScalar(this.peek().start);
      } else {
        continue;
      }
      node.pairs.push([key, value]);
      children.push(key, value);
    }
    this.scanner.getToken();
    this.finish(node, children);
    return node;
  }

  private flowPairValue(end: TokenType): YamlNode {
    if (!this.check(T.Value)) return this.emptyScalar(this.peek().start);
    const token = this.scanner.getToken();
    if (this.check(T.FlowEntry) || this.check(end)) return this.emptyScalar(token.end);
    return this.node(false, false);
  }
}
