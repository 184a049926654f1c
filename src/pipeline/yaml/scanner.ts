/**
 * The YAML tokenizer. It follows the algorithm of the reference's parser (ruyaml, from the PyYAML family): the same
 * tokens, the same "simple key" bookkeeping, the same indentation stack and the same error wording and positions,
 * so that a broken file is rejected at the same place with the same text. Works on UTF-16 code units of one string.
 */
import { charRepr, type Mark, markedError, type YamlError } from "./errors.js";

export const T = {
  StreamStart: 0,
  StreamEnd: 1,
  Directive: 2,
  DocumentStart: 3,
  DocumentEnd: 4,
  BlockSequenceStart: 5,
  BlockMappingStart: 6,
  BlockEnd: 7,
  FlowSequenceStart: 8,
  FlowMappingStart: 9,
  FlowSequenceEnd: 10,
  FlowMappingEnd: 11,
  Key: 12,
  Value: 13,
  BlockEntry: 14,
  FlowEntry: 15,
  Alias: 16,
  Anchor: 17,
  Tag: 18,
  Scalar: 19,
} as const;
export type TokenType = (typeof T)[keyof typeof T];

/** How the reference names each token in messages (`expected <block end>, but found '<scalar>'`). */
const TOKEN_NAMES = [
  "<stream start>",
  "<stream end>",
  "<directive>",
  "<document start>",
  "<document end>",
  "<block sequence start>",
  "<block mapping start>",
  "<block end>",
  "[",
  "{",
  "]",
  "}",
  "?",
  ":",
  "-",
  ",",
  "<alias>",
  "<anchor>",
  "<tag>",
  "<scalar>",
];

export function tokenName(token: Token): string {
  return `'${TOKEN_NAMES[token.type]}'`;
}

export class Token {
  constructor(
    readonly type: TokenType,
    readonly start: Mark,
    readonly end: Mark,
    /** Scalar text, anchor/alias name, tag suffix, or directive name. */
    readonly value = "",
    /** Scalars: written without quotes or block indicator (only plain scalars are resolved to numbers etc.). */
    readonly plain = false,
    /** Tags: the handle (`!`, `!!`, `!name!`), or null for verbatim `!<...>` tags. Directives: the arguments. */
    readonly handle: string | null = null,
    readonly args: readonly string[] = [],
  ) {}
}

interface SimpleKey {
  tokenNumber: number;
  required: boolean;
  index: number;
  line: number;
  column: number;
  mark: Mark;
}

const SP = 32;
const TAB = 9;
const LF = 10;
const CR = 13;
const NEL = 0x85;
const LS = 0x2028;
const PS = 0x2029;

function isBreak(c: number): boolean {
  return c === LF || c === CR || c === NEL || c === LS || c === PS;
}
/** End of input (0) or a line break. */
function isBreakOrEnd(c: number): boolean {
  return c === 0 || isBreak(c);
}
/** End of input, a line break, a space or a tab. */
function isBlankOrEnd(c: number): boolean {
  return c === SP || c === TAB || c === 0 || isBreak(c);
}
function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 95;
}
function isHexDigit(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function codes(chars: string): Set<number> {
  return new Set(Array.from(chars, (ch) => ch.charCodeAt(0)));
}
/** A lookup table over ASCII: faster than a Set on the per-character paths. */
function asciiTable(chars: string): Uint8Array {
  const table = new Uint8Array(128);
  for (const ch of chars) table[ch.charCodeAt(0)] = 1;
  return table;
}

/** Characters that cannot start a plain scalar (unless followed by a non-space, for `-`, `?`, `:`). */
const PLAIN_START_INDICATORS = codes("\0 \t\r\n\x85\u2028\u2029-?:,[]{}#&*!|>'\"%@`");
/** What ends a plain scalar chunk, for ASCII: 1 stops it, 2 (`:`) stops it when a blank follows. */
const PLAIN_STOP_BLOCK = asciiTable("\0 \t\r\n");
PLAIN_STOP_BLOCK[58] = 2;
const PLAIN_STOP_FLOW = asciiTable("\0 \t\r\n,[]{}");
PLAIN_STOP_FLOW[58] = 2;
const URI_CHARS = codes("-;/?:@&=+$,_.!~*'()[]%");
const ANCHOR_FOLLOWERS = codes("\0 \t\r\n\x85\u2028\u2029?:,]}%@`");
/** What ends a run of ordinary characters in a quoted scalar: quotes, backslash, blanks, breaks (1 = stop). */
const QUOTED_STOP = new Uint8Array(0x2030);
for (const code of [39, 34, 92, SP, TAB, LF, CR, NEL, LS, PS, 0]) QUOTED_STOP[code] = 1;

const ESCAPES: Record<string, string> = {
  "0": "\0",
  a: "\x07",
  b: "\x08",
  t: "\x09",
  "\t": "\x09",
  n: "\x0A",
  v: "\x0B",
  f: "\x0C",
  r: "\x0D",
  e: "\x1B",
  " ": "\x20",
  '"': '"',
  "/": "/",
  "\\": "\\",
  N: "\x85",
  _: "\xA0",
  L: "\u2028",
  P: "\u2029",
};
const ESCAPE_LENGTHS: Record<string, number> = { x: 2, u: 4, U: 8 };

export class Scanner {
  private readonly src: string;
  private pos = 0;
  private line = 0;
  private lineStart = 0;
  private done = false;
  /** One entry per open flow collection: the opening character code (`[` or `{`). */
  private readonly flowContext: number[] = [];
  /** How many flow collections are open (`flowContext.length`, kept as a field: it is read constantly). */
  private flowLevel = 0;
  private tokens: Token[] = [];
  private tokensTaken = 0;
  private indent = -1;
  private readonly indents: number[] = [];
  private allowSimpleKey = true;
  /** The possible simple key at each flow level (index = flow level). */
  private simpleKeys: Array<SimpleKey | undefined> = [];

  constructor(src: string) {
    this.src = src;
    // A byte order mark is skipped and, as in the reference, takes no column.
    if (src.charCodeAt(0) === 0xfeff) {
      this.pos = 1;
      this.lineStart = 1;
    }
    const mark = this.mark();
    this.tokens.push(new Token(T.StreamStart, mark, mark));
  }

  peekToken(): Token {
    while (this.needMoreTokens()) this.fetchMoreTokens();
    return this.tokens[0] as Token;
  }

  getToken(): Token {
    const token = this.peekToken();
    this.tokens.shift();
    this.tokensTaken++;
    return token;
  }

  check(type: TokenType): boolean {
    return this.peekToken().type === type;
  }

  error(
    context: string | null,
    contextMark: Mark | null,
    problem: string,
    problemMark: Mark | null,
  ): YamlError {
    return markedError(this.src, context, contextMark, problem, problemMark);
  }

  private peek(k = 0): number {
    const i = this.pos + k;
    return i < this.src.length ? this.src.charCodeAt(i) : 0;
  }

  private column(): number {
    return this.pos - this.lineStart;
  }

  mark(): Mark {
    return { index: this.pos, line: this.line, column: this.pos - this.lineStart };
  }

  private repr(k = 0): string {
    return charRepr(this.src, this.pos + k);
  }

  /** Skips spaces (not tabs), up to `limit` if given. One call per run of spaces: this is on the hot path. */
  private skipSpaces(limit = Number.POSITIVE_INFINITY): void {
    const src = this.src;
    let pos = this.pos;
    while (pos < limit && src.charCodeAt(pos) === SP) pos++;
    this.pos = pos;
  }

  /** Moves to the next line break or the end. */
  private skipToLineEnd(): void {
    const src = this.src;
    let pos = this.pos;
    for (let c = src.charCodeAt(pos); pos < src.length && !isBreak(c); c = src.charCodeAt(++pos)) {
      // ordinary characters
    }
    this.pos = pos;
  }

  /** Consumes one line break (CRLF counts as one) and returns it normalised as the reference does, or "". */
  private lineBreak(): string {
    const c = this.peek();
    if (c === CR || c === LF || c === NEL) {
      this.pos += c === CR && this.peek(1) === LF ? 2 : 1;
      this.line++;
      this.lineStart = this.pos;
      return "\n";
    }
    if (c === LS || c === PS) {
      this.pos++;
      this.line++;
      this.lineStart = this.pos;
      return String.fromCharCode(c);
    }
    return "";
  }

  private atDocumentSeparator(): boolean {
    const c = this.peek();
    return (c === 45 || c === 46) && this.peek(1) === c && this.peek(2) === c && isBlankOrEnd(this.peek(3));
  }

  private needMoreTokens(): boolean {
    if (this.done) return false;
    if (this.tokens.length === 0) return true;
    this.staleSimpleKeys();
    return this.nextSimpleKeyNumber() === this.tokensTaken;
  }

  private nextSimpleKeyNumber(): number | null {
    let min: number | null = null;
    for (const key of this.simpleKeys) {
      if (key !== undefined && (min === null || key.tokenNumber < min)) min = key.tokenNumber;
    }
    return min;
  }

  private fetchMoreTokens(): void {
    this.scanToNextToken();
    this.staleSimpleKeys();
    this.unwindIndent(this.column());
    const fetch = this.fetcherFor(this.peek());
    if (fetch === null) {
      throw this.error(
        "while scanning for the next token",
        null,
        `found character ${this.repr()} that cannot start any token`,
        this.mark(),
      );
    }
    fetch.call(this);
  }

  /** Which token starts at the current character, tested in the reference's order. */
  private fetcherFor(c: number): ((this: Scanner) => void) | null {
    switch (c) {
      case 0:
        return this.fetchStreamEnd;
      case 37: // %
        if (this.column() === 0) return this.fetchDirective;
        break;
      case 45: // -
        if (this.column() === 0 && this.atDocumentSeparator()) return this.fetchDocumentStart;
        if (isBlankOrEnd(this.peek(1))) return this.fetchBlockEntry;
        break;
      case 46: // .
        if (this.column() === 0 && this.atDocumentSeparator()) return this.fetchDocumentEnd;
        break;
      case 91: // [
      case 123: // {
        return this.fetchFlowCollectionStart;
      case 93: // ]
      case 125: // }
        return this.fetchFlowCollectionEnd;
      case 44: // ,
        return this.fetchFlowEntry;
      case 63: // ?
        if (this.flowLevel > 0 || isBlankOrEnd(this.peek(1))) return this.fetchKey;
        break;
      case 58: // :
        if (this.checkValue()) return this.fetchValue;
        break;
      case 42: // *
        return this.fetchAlias;
      case 38: // &
        return this.fetchAnchor;
      case 33: // !
        return this.fetchTag;
      case 124: // |
      case 62: // >
        if (this.flowLevel === 0) return this.fetchBlockScalar;
        break;
      case 39: // '
      case 34: // "
        return this.fetchFlowScalar;
    }
    return this.checkPlain() ? this.fetchPlain : null;
  }

  // --- simple keys and indentation -------------------------------------------------------------------------

  /** A possible simple key stops being possible at the end of its line or 1024 characters later. */
  private staleSimpleKeys(): void {
    for (let level = 0; level < this.simpleKeys.length; level++) {
      const key = this.simpleKeys[level];
      if (key === undefined) continue;
      if (key.line !== this.line || this.pos - key.index > 1024) {
        if (key.required) {
          throw this.error(
            "while scanning a simple key",
            key.mark,
            "could not find expected ':'",
            this.mark(),
          );
        }
        this.simpleKeys[level] = undefined;
      }
    }
  }

  private saveSimpleKey(): void {
    const required = this.flowLevel === 0 && this.indent === this.column();
    if (!this.allowSimpleKey) return;
    this.removeSimpleKey();
    this.simpleKeys[this.flowLevel] = {
      tokenNumber: this.tokensTaken + this.tokens.length,
      required,
      index: this.pos,
      line: this.line,
      column: this.column(),
      mark: this.mark(),
    };
  }

  private removeSimpleKey(): void {
    const key = this.simpleKeys[this.flowLevel];
    if (key === undefined) return;
    if (key.required) {
      throw this.error("while scanning a simple key", key.mark, "could not find expected ':'", this.mark());
    }
    this.simpleKeys[this.flowLevel] = undefined;
  }

  private unwindIndent(column: number): void {
    // In flow context indentation is ignored, as in the reference.
    if (this.flowLevel > 0) return;
    while (this.indent > column) {
      const mark = this.mark();
      this.indent = this.indents.pop() as number;
      this.tokens.push(new Token(T.BlockEnd, mark, mark));
    }
  }

  private addIndent(column: number): boolean {
    if (this.indent >= column) return false;
    this.indents.push(this.indent);
    this.indent = column;
    return true;
  }

  // --- fetchers ---------------------------------------------------------------------------------------------

  private fetchStreamEnd(): void {
    this.unwindIndent(-1);
    this.removeSimpleKey();
    this.allowSimpleKey = false;
    this.simpleKeys = [];
    const mark = this.mark();
    this.tokens.push(new Token(T.StreamEnd, mark, mark));
    this.done = true;
  }

  private fetchDirective(): void {
    this.unwindIndent(-1);
    this.removeSimpleKey();
    this.allowSimpleKey = false;
    this.tokens.push(this.scanDirective());
  }

  private fetchDocumentStart(): void {
    this.fetchDocumentIndicator(T.DocumentStart);
  }

  private fetchDocumentEnd(): void {
    this.fetchDocumentIndicator(T.DocumentEnd);
  }

  private fetchDocumentIndicator(type: TokenType): void {
    this.unwindIndent(-1);
    this.removeSimpleKey();
    this.allowSimpleKey = false;
    const start = this.mark();
    this.pos += 3;
    this.tokens.push(new Token(type, start, this.mark()));
  }

  private fetchFlowCollectionStart(): void {
    this.saveSimpleKey();
    const opener = this.peek();
    this.flowContext.push(opener);
    this.flowLevel = this.flowContext.length;
    this.allowSimpleKey = true;
    this.pushSingle(opener === 91 ? T.FlowSequenceStart : T.FlowMappingStart);
  }

  private fetchFlowCollectionEnd(): void {
    this.removeSimpleKey();
    this.flowContext.pop(); // an unmatched closer is left for the parser to report
    this.flowLevel = this.flowContext.length;
    this.allowSimpleKey = false;
    this.pushSingle(this.peek() === 93 ? T.FlowSequenceEnd : T.FlowMappingEnd);
  }

  private fetchFlowEntry(): void {
    this.allowSimpleKey = true;
    this.removeSimpleKey();
    this.pushSingle(T.FlowEntry);
  }

  private fetchBlockEntry(): void {
    if (this.flowLevel === 0) {
      if (!this.allowSimpleKey) {
        throw this.error(null, null, "sequence entries are not allowed here", this.mark());
      }
      if (this.addIndent(this.column())) {
        const mark = this.mark();
        this.tokens.push(new Token(T.BlockSequenceStart, mark, mark));
      }
    }
    this.allowSimpleKey = true;
    this.removeSimpleKey();
    this.pushSingle(T.BlockEntry);
  }

  private fetchKey(): void {
    if (this.flowLevel === 0) {
      if (!this.allowSimpleKey)
        throw this.error(null, null, "mapping keys are not allowed here", this.mark());
      if (this.addIndent(this.column())) {
        const mark = this.mark();
        this.tokens.push(new Token(T.BlockMappingStart, mark, mark));
      }
    }
    this.allowSimpleKey = this.flowLevel === 0;
    this.removeSimpleKey();
    this.pushSingle(T.Key);
  }

  /** `:` in block context needs a following blank; in flow context it depends on where we are (YAML 1.2). */
  private checkValue(): boolean {
    if (this.flowLevel > 0) {
      if (this.flowContext[this.flowContext.length - 1] === 91) {
        if (!isBlankOrEnd(this.peek(1))) return false;
      } else if (this.tokens.length > 0 && this.tokens[this.tokens.length - 1]?.type === T.Value) {
        if (!isBlankOrEnd(this.peek(1))) return false;
      }
      return true;
    }
    return isBlankOrEnd(this.peek(1));
  }

  private fetchValue(): void {
    const key = this.simpleKeys[this.flowLevel];
    if (key !== undefined) {
      // The scalar (or collection) before the `:` was a key: insert KEY (and maybe a mapping start) before it.
      this.simpleKeys[this.flowLevel] = undefined;
      const at = key.tokenNumber - this.tokensTaken;
      this.tokens.splice(at, 0, new Token(T.Key, key.mark, key.mark));
      if (this.flowLevel === 0 && this.addIndent(key.column)) {
        this.tokens.splice(at, 0, new Token(T.BlockMappingStart, key.mark, key.mark));
      }
      this.allowSimpleKey = false;
    } else {
      if (this.flowLevel === 0) {
        if (!this.allowSimpleKey)
          throw this.error(null, null, "mapping values are not allowed here", this.mark());
        if (this.addIndent(this.column())) {
          const mark = this.mark();
          this.tokens.push(new Token(T.BlockMappingStart, mark, mark));
        }
      }
      this.allowSimpleKey = this.flowLevel === 0;
      this.removeSimpleKey();
    }
    this.pushSingle(T.Value);
  }

  private pushSingle(type: TokenType): void {
    const start = this.mark();
    this.pos++;
    this.tokens.push(new Token(type, start, this.mark()));
  }

  private fetchAlias(): void {
    this.saveSimpleKey();
    this.allowSimpleKey = false;
    this.tokens.push(this.scanAnchor(T.Alias));
  }

  private fetchAnchor(): void {
    this.saveSimpleKey();
    this.allowSimpleKey = false;
    this.tokens.push(this.scanAnchor(T.Anchor));
  }

  private fetchTag(): void {
    this.saveSimpleKey();
    this.allowSimpleKey = false;
    this.tokens.push(this.scanTag());
  }

  private fetchBlockScalar(): void {
    this.allowSimpleKey = true;
    this.removeSimpleKey();
    this.tokens.push(this.scanBlockScalar(this.peek() === 62));
  }

  private fetchFlowScalar(): void {
    this.saveSimpleKey();
    this.allowSimpleKey = false;
    this.tokens.push(this.scanFlowScalar(this.peek() === 34));
  }

  private fetchPlain(): void {
    this.saveSimpleKey();
    this.allowSimpleKey = false;
    this.tokens.push(this.scanPlain());
  }

  private checkPlain(): boolean {
    const c = this.peek();
    if (!PLAIN_START_INDICATORS.has(c)) return true;
    const next = this.peek(1);
    if (c === 45 && !isBlankOrEnd(next)) return true;
    if (c === 58 && this.flowLevel > 0 && next !== SP && next !== TAB) return true;
    return !isBlankOrEnd(next) && (c === 45 || (this.flowLevel === 0 && (c === 63 || c === 58)));
  }

  // --- scanners ---------------------------------------------------------------------------------------------

  /** Skips spaces, comments and line breaks; a line break in block context makes a simple key possible again. */
  private scanToNextToken(): void {
    for (;;) {
      this.skipSpaces();
      if (this.peek() === 35) {
        this.skipToLineEnd();
      }
      if (this.lineBreak() === "") return;
      if (this.flowLevel === 0) this.allowSimpleKey = true;
    }
  }

  private scanDirective(): Token {
    const start = this.mark();
    this.pos++;
    const name = this.scanDirectiveName(start);
    let args: string[] = [];
    let end: Mark;
    if (name === "YAML") {
      args = this.scanYamlDirectiveValue(start);
      end = this.mark();
    } else if (name === "TAG") {
      args = this.scanTagDirectiveValue(start);
      end = this.mark();
    } else {
      end = this.mark();
      this.skipToLineEnd();
    }
    this.scanDirectiveIgnoredLine(start);
    return new Token(T.Directive, start, end, name, false, null, args);
  }

  private scanDirectiveName(start: Mark): string {
    let length = 0;
    while (isWordChar(this.peek(length))) length++;
    if (length === 0) {
      throw this.error(
        "while scanning a directive",
        start,
        `expected alphabetic or numeric character, but found ${this.repr()}`,
        this.mark(),
      );
    }
    const name = this.src.slice(this.pos, this.pos + length);
    this.pos += length;
    const c = this.peek();
    if (!(c === 0 || c === SP || isBreak(c))) {
      throw this.error(
        "while scanning a directive",
        start,
        `expected alphabetic or numeric character, but found ${this.repr()}`,
        this.mark(),
      );
    }
    return name;
  }

  private scanYamlDirectiveValue(start: Mark): string[] {
    this.skipSpaces();
    const major = this.scanYamlDirectiveNumber(start);
    if (this.peek() !== 46) {
      throw this.error(
        "while scanning a directive",
        start,
        `expected a digit or '.', but found ${this.repr()}`,
        this.mark(),
      );
    }
    this.pos++;
    const minor = this.scanYamlDirectiveNumber(start);
    const c = this.peek();
    if (!(c === 0 || c === SP || isBreak(c))) {
      throw this.error(
        "while scanning a directive",
        start,
        `expected a digit or ' ', but found ${this.repr()}`,
        this.mark(),
      );
    }
    return [major, minor];
  }

  private scanYamlDirectiveNumber(start: Mark): string {
    if (!isDigit(this.peek())) {
      throw this.error(
        "while scanning a directive",
        start,
        `expected a digit, but found ${this.repr()}`,
        this.mark(),
      );
    }
    let length = 0;
    while (isDigit(this.peek(length))) length++;
    const text = String(Number(this.src.slice(this.pos, this.pos + length)));
    this.pos += length;
    return text;
  }

  private scanTagDirectiveValue(start: Mark): string[] {
    this.skipSpaces();
    const handle = this.scanTagHandle("directive", start);
    if (this.peek() !== SP) {
      throw this.error(
        "while scanning a directive",
        start,
        `expected ' ', but found ${this.repr()}`,
        this.mark(),
      );
    }
    this.skipSpaces();
    const prefix = this.scanTagUri("directive", start);
    const c = this.peek();
    if (!(c === 0 || c === SP || isBreak(c))) {
      throw this.error(
        "while scanning a directive",
        start,
        `expected ' ', but found ${this.repr()}`,
        this.mark(),
      );
    }
    return [handle, prefix];
  }

  private scanDirectiveIgnoredLine(start: Mark): void {
    this.skipSpaces();
    if (this.peek() === 35) {
      this.skipToLineEnd();
    }
    if (!isBreakOrEnd(this.peek())) {
      throw this.error(
        "while scanning a directive",
        start,
        `expected a comment or a line break, but found ${this.repr()}`,
        this.mark(),
      );
    }
    this.lineBreak();
  }

  private scanAnchor(type: TokenType): Token {
    const start = this.mark();
    const what = type === T.Alias ? "alias" : "anchor";
    this.pos++;
    let length = 0;
    while (isWordChar(this.peek(length))) length++;
    if (length === 0 || !ANCHOR_FOLLOWERS.has(this.peek(length))) {
      this.pos += length;
      throw this.error(
        `while scanning an ${what}`,
        start,
        `expected alphabetic or numeric character, but found ${this.repr()}`,
        this.mark(),
      );
    }
    const name = this.src.slice(this.pos, this.pos + length);
    this.pos += length;
    return new Token(type, start, this.mark(), name);
  }

  private scanTag(): Token {
    const start = this.mark();
    const next = this.peek(1);
    let handle: string | null;
    let suffix: string;
    if (next === 60) {
      // Verbatim: !<tag:yaml.org,2002:str>
      handle = null;
      this.pos += 2;
      suffix = this.scanTagUri("tag", start);
      if (this.peek() !== 62) {
        throw this.error("while parsing a tag", start, `expected '>', but found ${this.repr()}`, this.mark());
      }
      this.pos++;
    } else if (isBlankOrEnd(next)) {
      // The non-specific tag `!`.
      handle = null;
      suffix = "!";
      this.pos++;
    } else {
      let length = 1;
      let useHandle = false;
      for (let c = next; !(c === 0 || c === SP || isBreak(c)); c = this.peek(length)) {
        if (c === 33) {
          useHandle = true;
          break;
        }
        length++;
      }
      if (useHandle) {
        handle = this.scanTagHandle("tag", start);
      } else {
        handle = "!";
        this.pos++;
      }
      suffix = this.scanTagUri("tag", start);
    }
    const c = this.peek();
    if (!(c === 0 || c === SP || isBreak(c))) {
      throw this.error("while scanning a tag", start, `expected ' ', but found ${this.repr()}`, this.mark());
    }
    return new Token(T.Tag, start, this.mark(), suffix, false, handle);
  }

  private scanTagHandle(what: string, start: Mark): string {
    if (this.peek() !== 33) {
      throw this.error(
        `while scanning a ${what}`,
        start,
        `expected '!', but found ${this.repr()}`,
        this.mark(),
      );
    }
    let length = 1;
    if (this.peek(1) !== SP) {
      while (isWordChar(this.peek(length))) length++;
      if (this.peek(length) !== 33) {
        this.pos += length;
        throw this.error(
          `while scanning a ${what}`,
          start,
          `expected '!', but found ${this.repr()}`,
          this.mark(),
        );
      }
      length++;
    }
    const handle = this.src.slice(this.pos, this.pos + length);
    this.pos += length;
    return handle;
  }

  private scanTagUri(what: string, start: Mark): string {
    let text = "";
    let length = 0;
    for (let c = this.peek(); isWordChar(c) || URI_CHARS.has(c); c = this.peek(length)) {
      if (c === 37) {
        text += this.src.slice(this.pos, this.pos + length);
        this.pos += length;
        length = 0;
        text += this.scanUriEscapes(what, start);
      } else {
        length++;
      }
    }
    text += this.src.slice(this.pos, this.pos + length);
    this.pos += length;
    if (text === "") {
      throw this.error(
        `while parsing a ${what}`,
        start,
        `expected URI, but found ${this.repr()}`,
        this.mark(),
      );
    }
    return text;
  }

  private scanUriEscapes(what: string, start: Mark): string {
    const bytes: number[] = [];
    const mark = this.mark();
    while (this.peek() === 37) {
      this.pos++;
      for (let k = 0; k < 2; k++) {
        if (!isHexDigit(this.peek(k))) {
          throw this.error(
            `while scanning a ${what}`,
            start,
            `expected URI escape sequence of 2 hexadecimal numbers, but found ${this.repr(k)}`,
            this.mark(),
          );
        }
      }
      bytes.push(Number.parseInt(this.src.slice(this.pos, this.pos + 2), 16));
      this.pos += 2;
    }
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array(bytes));
    } catch {
      throw this.error(`while scanning a ${what}`, start, "invalid utf-8 in URI escape", mark);
    }
  }

  private scanBlockScalar(folded: boolean): Token {
    const start = this.mark();
    this.pos++;
    const { chomping, increment } = this.scanBlockScalarIndicators(start);
    this.scanBlockScalarIgnoredLine(start);
    let minIndent = this.indent + 1;
    let indent: number;
    let breaks: string[];
    let end: Mark;
    if (increment === null) {
      // YAML 1.2 lets a top-level block scalar start in column 0.
      const scanned = this.scanBlockScalarIndentation();
      breaks = scanned.breaks;
      end = scanned.end;
      indent = Math.max(minIndent, scanned.maxIndent);
    } else {
      if (minIndent < 1) minIndent = 1;
      indent = minIndent + increment - 1;
      ({ breaks, end } = this.scanBlockScalarBreaks(indent));
    }
    const chunks: string[] = [];
    let lineBreak = "";
    while (this.column() === indent && this.peek() !== 0) {
      chunks.push(...breaks);
      const leadingNonSpace = this.peek() !== SP && this.peek() !== TAB;
      const lineStart = this.pos;
      this.skipToLineEnd();
      chunks.push(this.src.slice(lineStart, this.pos));
      lineBreak = this.lineBreak();
      ({ breaks, end } = this.scanBlockScalarBreaks(indent));
      if (this.column() !== indent || this.peek() === 0) break;
      if (folded && lineBreak === "\n" && leadingNonSpace && this.peek() !== SP && this.peek() !== TAB) {
        if (breaks.length === 0) chunks.push(" ");
      } else {
        chunks.push(lineBreak);
      }
    }
    if (chomping !== false) chunks.push(lineBreak);
    if (chomping === true) chunks.push(...breaks);
    return new Token(T.Scalar, start, end, chunks.join(""));
  }

  private scanBlockScalarIndicators(start: Mark): { chomping: boolean | null; increment: number | null } {
    let chomping: boolean | null = null;
    let increment: number | null = null;
    const readIncrement = (): void => {
      increment = this.peek() - 48;
      if (increment === 0) {
        throw this.error(
          "while scanning a block scalar",
          start,
          "expected indentation indicator in the range 1-9, but found 0",
          this.mark(),
        );
      }
      this.pos++;
    };
    let c = this.peek();
    if (c === 43 || c === 45) {
      chomping = c === 43;
      this.pos++;
      if (isDigit(this.peek())) readIncrement();
    } else if (isDigit(c)) {
      readIncrement();
      c = this.peek();
      if (c === 43 || c === 45) {
        chomping = c === 43;
        this.pos++;
      }
    }
    c = this.peek();
    if (!(c === 0 || c === SP || isBreak(c))) {
      throw this.error(
        "while scanning a block scalar",
        start,
        `expected chomping or indentation indicators, but found ${this.repr()}`,
        this.mark(),
      );
    }
    return { chomping, increment };
  }

  private scanBlockScalarIgnoredLine(start: Mark): void {
    this.skipSpaces();
    if (this.peek() === 35) {
      this.skipToLineEnd();
    }
    if (!isBreakOrEnd(this.peek())) {
      throw this.error(
        "while scanning a block scalar",
        start,
        `expected a comment or a line break, but found ${this.repr()}`,
        this.mark(),
      );
    }
    this.lineBreak();
  }

  private scanBlockScalarIndentation(): { breaks: string[]; maxIndent: number; end: Mark } {
    const breaks: string[] = [];
    let maxIndent = 0;
    let end = this.mark();
    for (let c = this.peek(); c === SP || isBreak(c); c = this.peek()) {
      if (c === SP) {
        this.pos++;
        if (this.column() > maxIndent) maxIndent = this.column();
      } else {
        breaks.push(this.lineBreak());
        end = this.mark();
      }
    }
    return { breaks, maxIndent, end };
  }

  private scanBlockScalarBreaks(indent: number): { breaks: string[]; end: Mark } {
    const breaks: string[] = [];
    let end = this.mark();
    this.skipSpaces(this.lineStart + indent);
    while (isBreak(this.peek())) {
      breaks.push(this.lineBreak());
      end = this.mark();
      this.skipSpaces(this.lineStart + indent);
    }
    return { breaks, end };
  }

  private scanFlowScalar(double: boolean): Token {
    const start = this.mark();
    const quote = this.peek();
    this.pos++;
    const chunks: string[] = [];
    this.scanFlowScalarNonSpaces(double, start, chunks);
    while (this.peek() !== quote) {
      this.scanFlowScalarSpaces(start, chunks);
      this.scanFlowScalarNonSpaces(double, start, chunks);
    }
    this.pos++;
    return new Token(T.Scalar, start, this.mark(), chunks.join(""));
  }

  private scanFlowScalarNonSpaces(double: boolean, start: Mark, chunks: string[]): void {
    const src = this.src;
    for (;;) {
      let end = this.pos;
      for (let c = src.charCodeAt(end); end < src.length && QUOTED_STOP[c] !== 1; c = src.charCodeAt(++end)) {
        // ordinary characters
      }
      if (end > this.pos) {
        chunks.push(src.slice(this.pos, end));
        this.pos = end;
      }
      const c = this.peek();
      if (!double && c === 39 && this.peek(1) === 39) {
        chunks.push("'");
        this.pos += 2;
      } else if ((double && c === 39) || (!double && (c === 34 || c === 92))) {
        chunks.push(String.fromCharCode(c));
        this.pos++;
      } else if (double && c === 92) {
        this.pos++;
        const e = String.fromCharCode(this.peek());
        const replacement = ESCAPES[e];
        const hexLength = ESCAPE_LENGTHS[e];
        if (replacement !== undefined) {
          chunks.push(replacement);
          this.pos++;
        } else if (hexLength !== undefined) {
          this.pos++;
          for (let k = 0; k < hexLength; k++) {
            if (!isHexDigit(this.peek(k))) {
              throw this.error(
                "while scanning a double-quoted scalar",
                start,
                `expected escape sequence of ${hexLength} hexdecimal numbers, but found ${this.repr(k)}`,
                this.mark(),
              );
            }
          }
          const code = Number.parseInt(this.src.slice(this.pos, this.pos + hexLength), 16);
          if (code > 0x10ffff) {
            throw this.error(
              "while scanning a double-quoted scalar",
              start,
              `found escape of a code point beyond U+10FFFF`,
              this.mark(),
            );
          }
          chunks.push(String.fromCodePoint(code));
          this.pos += hexLength;
        } else if (isBreak(this.peek())) {
          this.lineBreak();
          chunks.push(...this.scanFlowScalarBreaks(start));
        } else {
          throw this.error(
            "while scanning a double-quoted scalar",
            start,
            `found unknown escape character ${this.repr()}`,
            this.mark(),
          );
        }
      } else {
        return;
      }
    }
  }

  private scanFlowScalarSpaces(start: Mark, chunks: string[]): void {
    let length = 0;
    while (this.peek(length) === SP || this.peek(length) === TAB) length++;
    const whitespace = this.src.slice(this.pos, this.pos + length);
    this.pos += length;
    const c = this.peek();
    if (c === 0) {
      throw this.error(
        "while scanning a quoted scalar",
        start,
        "found unexpected end of stream",
        this.mark(),
      );
    }
    if (isBreak(c)) {
      const lineBreak = this.lineBreak();
      const breaks = this.scanFlowScalarBreaks(start);
      if (lineBreak !== "\n") chunks.push(lineBreak);
      else if (breaks.length === 0) chunks.push(" ");
      chunks.push(...breaks);
    } else {
      chunks.push(whitespace);
    }
  }

  private scanFlowScalarBreaks(start: Mark): string[] {
    const breaks: string[] = [];
    for (;;) {
      // Quoted scalars ignore indentation but may not run into a document separator.
      if (this.atDocumentSeparator()) {
        throw this.error(
          "while scanning a quoted scalar",
          start,
          "found unexpected document separator",
          this.mark(),
        );
      }
      while (this.peek() === SP || this.peek() === TAB) this.pos++;
      if (!isBreak(this.peek())) return breaks;
      breaks.push(this.lineBreak());
    }
  }

  private scanPlain(): Token {
    const start = this.mark();
    let endIndex = this.pos;
    let endLine = this.line;
    let endLineStart = this.lineStart;
    const indent = this.indent + 1;
    let value = "";
    let spaces = "";
    const flow = this.flowLevel > 0;
    for (;;) {
      if (this.peek() === 35) break;
      // The hot loop of the whole loader: most of a project file is plain scalars.
      const stops = flow ? PLAIN_STOP_FLOW : PLAIN_STOP_BLOCK;
      const src = this.src;
      let end = this.pos;
      while (end < src.length) {
        const c = src.charCodeAt(end);
        if (c < 128) {
          const stop = stops[c];
          // `:` ends a plain scalar only when a blank follows.
          if (stop === 1 || (stop === 2 && isBlankOrEnd(this.peek(end + 1 - this.pos)))) break;
        } else if (c === NEL || c === LS || c === PS) {
          break;
        }
        end++;
      }
      const length = end - this.pos;
      if (length === 0) break;
      this.allowSimpleKey = false;
      value += spaces + this.src.slice(this.pos, this.pos + length);
      this.pos += length;
      endIndex = this.pos;
      endLine = this.line;
      endLineStart = this.lineStart;
      const next = this.scanPlainSpaces();
      if (next === null || next === "" || this.peek() === 35 || (!flow && this.column() < indent)) break;
      spaces = next;
    }
    const end = { index: endIndex, line: endLine, column: endIndex - endLineStart };
    return new Token(T.Scalar, start, end, value, true);
  }

  /** The whitespace after a plain scalar chunk, folded; null when a document separator follows a line break. */
  private scanPlainSpaces(): string | null {
    const from = this.pos;
    this.skipSpaces();
    if (!isBreak(this.peek())) return this.src.slice(from, this.pos);
    const lineBreak = this.lineBreak();
    this.allowSimpleKey = true;
    if (this.atDocumentSeparator()) return null;
    let breaks = "";
    for (let c = this.peek(); c === SP || isBreak(c); c = this.peek()) {
      if (c === SP) {
        this.pos++;
      } else {
        breaks += this.lineBreak();
        if (this.atDocumentSeparator()) return null;
      }
    }
    if (lineBreak !== "\n") return lineBreak + breaks;
    return breaks === "" ? " " : breaks;
  }
}
