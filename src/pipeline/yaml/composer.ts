/**
 * Tokens → the value of the stream's single document. Follows the reference's parser grammar (block and flow
 * collections, indentless sequences, empty values) and consumes tokens in the same order, so syntax errors come out
 * at the same place with the same wording. Values are built as the reference's round-trip constructor builds them
 * (mappings in file order, `<<` merge keys, duplicate keys refused), directly while parsing: no node tree.
 *
 * The reference composes the whole document before constructing anything, so a syntax error anywhere wins over a
 * construction error (a duplicate key, say). Construction errors are therefore held back until parsing succeeds;
 * the first one recorded is the one the reference raises, because it constructs depth first in file order too.
 */
import { pyRepr, pyStrRepr } from "../../python/repr.js";
import type { PyValue } from "../../python/values.js";
import type { Mark, YamlError } from "./errors.js";
import { type DeferError, type Kind, MappingBuilder } from "./mapping.js";
import { constructScalar, resolvePlainTag, TAG } from "./resolve.js";
import type { Scanner } from "./scanner.js";
import { T, type Token, type TokenType, tokenName } from "./tokens.js";

/**
 * Aliases let a small file describe a huge tree ("billion laughs"). Everything downstream walks the expanded tree,
 * so the total that aliases add is capped; real project files use a handful of aliases, if any.
 */
export const MAX_ALIAS_EXPANSION = 1_000_000;

/**
 * Aliases also repeat text: fifty aliases of a 1 MB string are few nodes but 50 MB once a job's command is built
 * from them. So the characters of text (keys and values) they add are capped too.
 */
export const MAX_ALIAS_EXPANSION_CHARS = 4_000_000;

/** Collections may nest this deep; past it the reference runs out of Python recursion, and we would run out of stack. */
export const MAX_DEPTH = 1000;

const DEFAULT_TAG_HANDLES: ReadonlyArray<[string, string]> = [
  ["!", "!"],
  ["!!", "tag:yaml.org,2002:"],
];
const SEQUENCE_TAGS = new Set<string>([TAG.seq, "tag:yaml.org,2002:omap", "tag:yaml.org,2002:pairs"]);
const MAPPING_TAGS = new Set<string>([TAG.map, "tag:yaml.org,2002:set"]);
const SCALAR_TAGS = new Set<string>([
  TAG.str,
  TAG.int,
  TAG.float,
  TAG.bool,
  TAG.null,
  TAG.timestamp,
  "tag:yaml.org,2002:binary",
]);

/** What an anchor names: the value, and what an alias to it stands for. */
interface Anchored {
  value: PyValue;
  /** Nodes once aliases are expanded; -1 while the collection is still being read. */
  size: number;
  /** Characters of text once aliases are expanded; counted when first aliased. */
  chars?: number;
  kind: Kind;
  /** For scalars, the resolved tag (an anchored `<<` is still a merge key when aliased). */
  tag: string;
  start: Mark;
}

export class Composer {
  private anchors = new Map<string, Anchored>();
  private tagHandles = new Map<string, string>(DEFAULT_TAG_HANDLES);
  private aliasExpansion = 0;
  private aliasExpansionChars = 0;
  private depth = 0;
  private deferred: YamlError | null = null;
  // Facts about the node just read, kept in fields rather than a wrapper object per node.
  private lastSize = 0;
  private lastKind: Kind = "scalar";
  private lastTag: string = TAG.null;
  private lastStart: Mark = { index: 0, line: 0, column: 0 };
  /** Set for the value of a `<<` key: if it is a sequence, where its items start (for error messages). */
  private itemStarts: Mark[] | null = null;
  /** The sequence being filled (a field, so the entry readers need no closure per item). */
  private items: { values: PyValue[]; size: number; starts: Mark[] | null } = {
    values: [],
    size: 0,
    starts: null,
  };
  constructor(private readonly scanner: Scanner) {}

  /** The value of the one document of the stream (null for an empty stream); a second document is an error. */
  loadSingleDocument(): PyValue {
    this.scanner.getToken(); // the stream start
    const first = this.documentStart(true);
    if (first === null) return null;
    const value = this.documentContent(first.explicit);
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
    if (this.deferred !== null) throw this.deferred;
    return value;
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

  /** Records a construction error, to be raised if the whole document parses. */
  private defer(context: string | null, contextMark: Mark | null, problem: string, problemMark: Mark): void {
    this.deferred ??= this.error(context, contextMark, problem, problemMark);
  }

  // --- documents --------------------------------------------------------------------------------------------

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

  private documentContent(explicit: boolean): PyValue {
    if (
      explicit &&
      (this.check(T.Directive) ||
        this.check(T.DocumentStart) ||
        this.check(T.DocumentEnd) ||
        this.check(T.StreamEnd))
    ) {
      return this.empty(this.peek().start);
    }
    return this.node(true, false);
  }

  /** An empty node (a key or value left out): null. */
  private empty(mark: Mark): null {
    this.lastSize = 1;
    this.lastKind = "scalar";
    this.lastTag = TAG.null;
    this.lastStart = mark;
    return null;
  }

  // --- nodes ------------------------------------------------------------------------------------------------

  /**
   * One node: an alias, or optional properties (anchor, tag) then content. `block` allows block collections;
   * `indentlessSequence` allows a `- item` list at the same indentation as its mapping key.
   */
  private node(block: boolean, indentlessSequence: boolean): PyValue {
    const itemStarts = this.itemStarts;
    this.itemStarts = null;
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
    const explicitTag = implicit ? null : (tag as string);

    if (indentlessSequence && this.check(T.BlockEntry)) {
      return this.sequence(explicitTag, start, anchor, itemStarts, () => this.indentlessEntries());
    }
    if (this.check(T.Scalar)) {
      const token = this.scanner.getToken();
      const resolved = implicit
        ? token.plain || tag === "!"
          ? resolvePlainTag(token.value)
          : TAG.str
        : explicitTag;
      return this.scalar(resolved as string, !implicit, token.value, start, anchor);
    }
    if (this.check(T.FlowSequenceStart)) {
      return this.sequence(explicitTag, start, anchor, itemStarts, () => this.flowEntries());
    }
    if (this.check(T.FlowMappingStart))
      return this.mapping(explicitTag, start, anchor, (m) => this.flowPairs(m));
    if (block && this.check(T.BlockSequenceStart)) {
      return this.sequence(explicitTag, start, anchor, itemStarts, () => this.blockEntries());
    }
    if (block && this.check(T.BlockMappingStart)) {
      return this.mapping(explicitTag, start, anchor, (m) => this.blockPairs(m));
    }
    if (anchor !== null || tag !== null) {
      // Properties with no content: an empty scalar.
      return this.scalar(implicit ? TAG.null : (tag as string), !implicit, "", start, anchor);
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

  private alias(token: Token): PyValue {
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
    target.chars ??= expandedChars(target.value);
    this.aliasExpansionChars += target.chars;
    if (this.aliasExpansionChars > MAX_ALIAS_EXPANSION_CHARS) {
      throw this.error(
        null,
        null,
        `found too many alias expansions: aliases expand the document by more than ${MAX_ALIAS_EXPANSION_CHARS} characters of text`,
        token.start,
      );
    }
    this.lastSize = target.size;
    this.lastKind = target.kind;
    this.lastTag = target.tag;
    this.lastStart = target.start;
    return target.value;
  }

  private anchor(name: string | null, value: PyValue, kind: Kind, tag: string, start: Mark): Anchored | null {
    if (name === null) return null;
    // A repeated anchor name simply takes over from the earlier one, as in the reference.
    const anchored: Anchored = { value, size: kind === "scalar" ? 1 : -1, kind, tag, start };
    this.anchors.set(name, anchored);
    return anchored;
  }

  private enter(start: Mark): void {
    this.depth++;
    if (this.depth > MAX_DEPTH) {
      throw this.error(null, null, `found a collection nested more than ${MAX_DEPTH} levels deep`, start);
    }
  }

  private finish(anchored: Anchored | null, kind: Kind, size: number, start: Mark): void {
    this.depth--;
    this.lastSize = Math.min(size, MAX_ALIAS_EXPANSION + 1);
    this.lastKind = kind;
    this.lastTag = kind === "sequence" ? TAG.seq : TAG.map;
    this.lastStart = start;
    if (anchored !== null) anchored.size = this.lastSize;
  }

  /** A standard tag on the wrong kind of node (`!!str [a]`); other tags are kept as they come, as in the reference. */
  private wrongKind(tag: string | null, kind: Kind, start: Mark): void {
    if (tag === null) return;
    let expected: Kind | null = null;
    if (SEQUENCE_TAGS.has(tag)) expected = "sequence";
    else if (MAPPING_TAGS.has(tag)) expected = "mapping";
    else if (SCALAR_TAGS.has(tag)) expected = "scalar";
    if (expected !== null && expected !== kind) {
      this.defer(null, null, `expected a ${expected} node, but found ${kind}`, start);
    }
  }

  private scalar(tag: string, explicit: boolean, text: string, start: Mark, anchor: string | null): PyValue {
    let value: PyValue | undefined = tag === TAG.str ? text : constructScalar(tag, text);
    if (explicit) {
      this.wrongKind(tag, "scalar", start);
      if (value === undefined) {
        this.defer(
          "while constructing a scalar",
          null,
          `cannot read ${pyRepr(text)} as the explicitly tagged type ${tag}`,
          start,
        );
      }
    }
    // An implicitly typed scalar that does not convert (`_` looks like an int) stays a string.
    if (value === undefined) value = text;
    this.anchor(anchor, value, "scalar", tag, start);
    this.lastSize = 1;
    this.lastKind = "scalar";
    this.lastTag = tag;
    this.lastStart = start;
    return value;
  }

  // --- sequences --------------------------------------------------------------------------------------------

  private sequence(
    tag: string | null,
    start: Mark,
    anchor: string | null,
    itemStarts: Mark[] | null,
    entries: () => void,
  ): PyValue[] {
    this.enter(start);
    const items: PyValue[] = [];
    const anchored = this.anchor(anchor, items, "sequence", TAG.seq, start);
    this.wrongKind(tag, "sequence", start);
    const saved = this.items;
    this.items = { values: items, size: 1, starts: itemStarts };
    entries();
    const size = this.items.size;
    this.items = saved;
    this.finish(anchored, "sequence", size, start);
    return items;
  }

  private pushItem(value: PyValue): void {
    this.items.values.push(value);
    this.items.size += this.lastSize;
    this.items.starts?.push(this.lastStart);
  }

  private blockEntries(): void {
    const start = this.scanner.getToken().start;
    while (this.check(T.BlockEntry)) {
      const entry = this.scanner.getToken();
      this.pushItem(
        this.check(T.BlockEntry) || this.check(T.BlockEnd) ? this.empty(entry.end) : this.node(true, false),
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
  }

  private indentlessEntries(): void {
    while (this.check(T.BlockEntry)) {
      const entry = this.scanner.getToken();
      const empty =
        this.check(T.BlockEntry) || this.check(T.Key) || this.check(T.Value) || this.check(T.BlockEnd);
      this.pushItem(empty ? this.empty(entry.end) : this.node(true, false));
    }
  }

  private flowEntries(): void {
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
        const keyStart = this.peek().start;
        this.pushItem(
          this.mapping(null, keyStart, null, (m) => {
            const keyToken = this.scanner.getToken();
            const key =
              this.check(T.Value) || this.check(T.FlowEntry) || this.check(T.FlowSequenceEnd)
                ? this.empty(keyToken.end)
                : this.node(false, false);
            this.flowPairValue(m, key, T.FlowSequenceEnd);
          }),
        );
      } else if (!this.check(T.FlowSequenceEnd)) {
        this.pushItem(this.node(false, false));
      }
    }
    this.scanner.getToken();
  }

  // --- mappings ---------------------------------------------------------------------------------------------

  private mapping(
    tag: string | null,
    start: Mark,
    anchor: string | null,
    pairs: (builder: MappingBuilder) => void,
  ): Map<PyValue, PyValue> {
    this.enter(start);
    const builder = new MappingBuilder(this.deferError, start);
    const anchored = this.anchor(anchor, builder.map, "mapping", TAG.map, start);
    this.wrongKind(tag, "mapping", start);
    pairs(builder);
    builder.mergeIn();
    this.finish(anchored, "mapping", builder.size, start);
    return builder.map;
  }

  /** After reading a key node: tells the builder about it. */
  private key(builder: MappingBuilder, value: PyValue): void {
    builder.setKey(value, this.lastTag, this.lastKind, this.lastStart, this.lastSize);
    // The value of a merge key may be a list of mappings; note where each starts for error messages.
    this.itemStarts = builder.mergeItemStarts;
  }

  /** After reading a value node: adds the pair. */
  private value(builder: MappingBuilder, value: PyValue): void {
    this.itemStarts = null;
    builder.add(value, this.lastKind, this.lastStart, this.lastSize);
  }

  private blockPairs(builder: MappingBuilder): void {
    const start = this.scanner.getToken().start;
    for (;;) {
      if (this.check(T.Key)) {
        const token = this.scanner.getToken();
        this.key(builder, this.blockValueOrEmpty(token.end));
      } else if (this.check(T.Value)) {
        // YAML 1.2: a `:` with no key before it is an empty key.
        this.key(builder, this.empty(this.peek().start));
      } else {
        break;
      }
      if (this.check(T.Value)) {
        const token = this.scanner.getToken();
        this.value(builder, this.blockValueOrEmpty(token.end));
      } else {
        this.value(builder, this.empty(this.peek().start));
      }
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
  }

  private blockValueOrEmpty(emptyMark: Mark): PyValue {
    if (this.check(T.Key) || this.check(T.Value) || this.check(T.BlockEnd)) return this.empty(emptyMark);
    return this.node(true, true);
  }

  private flowPairs(builder: MappingBuilder): void {
    const start = this.scanner.getToken().start;
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
      if (this.check(T.Key)) {
        const keyToken = this.scanner.getToken();
        const key =
          this.check(T.Value) || this.check(T.FlowEntry) || this.check(T.FlowMappingEnd)
            ? this.empty(keyToken.end)
            : this.node(false, false);
        this.flowPairValue(builder, key, T.FlowMappingEnd);
      } else if (this.check(T.Value)) {
        this.flowPairValue(builder, this.empty(this.peek().end), T.FlowMappingEnd);
      } else if (!this.check(T.FlowMappingEnd)) {
        this.key(builder, this.node(false, false));
        this.value(builder, this.empty(this.peek().start));
      }
    }
    this.scanner.getToken();
  }

  /** After a flow key: `: value`, `:` alone, or nothing. */
  private flowPairValue(builder: MappingBuilder, key: PyValue, end: TokenType): void {
    this.key(builder, key);
    if (!this.check(T.Value)) {
      this.value(builder, this.empty(this.peek().start));
      return;
    }
    const token = this.scanner.getToken();
    this.value(
      builder,
      this.check(T.FlowEntry) || this.check(end) ? this.empty(token.end) : this.node(false, false),
    );
  }

  /** Lets a MappingBuilder hold back its construction errors. */
  private readonly deferError: DeferError = (context, contextMark, problem, problemMark) =>
    this.defer(context, contextMark, problem, problemMark);
}

/**
 * The characters of text in a finished value, aliases expanded. Bounded: an anchored value's expanded size passed the
 * node cap before it could be aliased, and each anchor is counted once.
 */
function expandedChars(value: PyValue): number {
  let chars = 0;
  const pending: PyValue[] = [value];
  while (pending.length > 0) {
    const next = pending.pop()!;
    if (typeof next === "string") chars += next.length;
    else if (Array.isArray(next)) for (const item of next) pending.push(item);
    else if (next instanceof Map) for (const [key, item] of next) pending.push(key, item);
  }
  return chars;
}
