/**
 * The YAML tokenizer. It follows the algorithm of the reference's parser (ruyaml, from the PyYAML family): the same
 * tokens, the same "simple key" bookkeeping, the same indentation stack and the same error wording and positions,
 * so that a broken file is rejected at the same place with the same text. Works on UTF-16 code units of one string.
 */
import type { Mark, YamlError } from "./errors.js";
import { scanAnchor, scanDirective, scanTag } from "./properties.js";
import { codes, isBlankOrEnd, Reader, SP, TAB } from "./reader.js";
import { scanBlockScalar, scanFlowScalar, scanPlain } from "./scalars.js";
import { T, Token, type TokenType } from "./tokens.js";

/** Characters that cannot start a plain scalar (unless followed by a non-space, for `-`, `?`, `:`). */
const PLAIN_START_INDICATORS = codes("\0 \t\r\n\x85\u2028\u2029-?:,[]{}#&*!|>'\"%@`");

interface SimpleKey {
  tokenNumber: number;
  required: boolean;
  index: number;
  line: number;
  column: number;
  mark: Mark;
}

export class Scanner {
  private readonly r: Reader;
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
  /** The first queued token is final: nothing was taken or scanned since `needMoreTokens()` said so. */
  private headSettled = false;
  /** The possible simple key at each flow level (index = flow level). */
  private simpleKeys: Array<SimpleKey | undefined> = [];

  constructor(src: string) {
    this.r = new Reader(src);
    const mark = this.r.mark();
    this.tokens.push(new Token(T.StreamStart, mark, mark));
  }

  peekToken(): Token {
    // The parser looks at the same token several times; once it is known to be final, skip the checks.
    if (!this.headSettled) {
      while (this.needMoreTokens()) this.fetchMoreTokens();
      this.headSettled = true;
    }
    return this.tokens[0] as Token;
  }

  getToken(): Token {
    const token = this.peekToken();
    this.tokens.shift();
    this.tokensTaken++;
    this.headSettled = false;
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
    return this.r.error(context, contextMark, problem, problemMark);
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
    this.unwindIndent(this.r.column());
    const fetch = this.fetcherFor(this.r.peek());
    if (fetch === null) {
      throw this.error(
        "while scanning for the next token",
        null,
        `found character ${this.r.repr()} that cannot start any token`,
        this.r.mark(),
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
        if (this.r.column() === 0) return this.fetchDirective;
        break;
      case 45: // -
        if (this.r.column() === 0 && this.r.atDocumentSeparator()) return this.fetchDocumentStart;
        if (isBlankOrEnd(this.r.peek(1))) return this.fetchBlockEntry;
        break;
      case 46: // .
        if (this.r.column() === 0 && this.r.atDocumentSeparator()) return this.fetchDocumentEnd;
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
        if (this.flowLevel > 0 || isBlankOrEnd(this.r.peek(1))) return this.fetchKey;
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
      if (key.line !== this.r.line || this.r.pos - key.index > 1024) {
        if (key.required) {
          throw this.error(
            "while scanning a simple key",
            key.mark,
            "could not find expected ':'",
            this.r.mark(),
          );
        }
        this.simpleKeys[level] = undefined;
      }
    }
  }

  private saveSimpleKey(): void {
    const required = this.flowLevel === 0 && this.indent === this.r.column();
    if (!this.allowSimpleKey) return;
    this.removeSimpleKey();
    this.simpleKeys[this.flowLevel] = {
      tokenNumber: this.tokensTaken + this.tokens.length,
      required,
      index: this.r.pos,
      line: this.r.line,
      column: this.r.column(),
      mark: this.r.mark(),
    };
  }

  private removeSimpleKey(): void {
    const key = this.simpleKeys[this.flowLevel];
    if (key === undefined) return;
    if (key.required) {
      throw this.error("while scanning a simple key", key.mark, "could not find expected ':'", this.r.mark());
    }
    this.simpleKeys[this.flowLevel] = undefined;
  }

  private unwindIndent(column: number): void {
    // In flow context indentation is ignored, as in the reference.
    if (this.flowLevel > 0) return;
    while (this.indent > column) {
      const mark = this.r.mark();
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
    const mark = this.r.mark();
    this.tokens.push(new Token(T.StreamEnd, mark, mark));
    this.done = true;
  }

  private fetchDirective(): void {
    this.unwindIndent(-1);
    this.removeSimpleKey();
    this.allowSimpleKey = false;
    this.tokens.push(scanDirective(this.r));
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
    const start = this.r.mark();
    this.r.pos += 3;
    this.tokens.push(new Token(type, start, this.r.mark()));
  }

  private fetchFlowCollectionStart(): void {
    this.saveSimpleKey();
    const opener = this.r.peek();
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
    this.pushSingle(this.r.peek() === 93 ? T.FlowSequenceEnd : T.FlowMappingEnd);
  }

  private fetchFlowEntry(): void {
    this.allowSimpleKey = true;
    this.removeSimpleKey();
    this.pushSingle(T.FlowEntry);
  }

  private fetchBlockEntry(): void {
    if (this.flowLevel === 0) {
      if (!this.allowSimpleKey) {
        throw this.error(null, null, "sequence entries are not allowed here", this.r.mark());
      }
      if (this.addIndent(this.r.column())) {
        const mark = this.r.mark();
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
        throw this.error(null, null, "mapping keys are not allowed here", this.r.mark());
      if (this.addIndent(this.r.column())) {
        const mark = this.r.mark();
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
        if (!isBlankOrEnd(this.r.peek(1))) return false;
      } else if (this.tokens.length > 0 && this.tokens[this.tokens.length - 1]?.type === T.Value) {
        if (!isBlankOrEnd(this.r.peek(1))) return false;
      }
      return true;
    }
    return isBlankOrEnd(this.r.peek(1));
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
          throw this.error(null, null, "mapping values are not allowed here", this.r.mark());
        if (this.addIndent(this.r.column())) {
          const mark = this.r.mark();
          this.tokens.push(new Token(T.BlockMappingStart, mark, mark));
        }
      }
      this.allowSimpleKey = this.flowLevel === 0;
      this.removeSimpleKey();
    }
    this.pushSingle(T.Value);
  }

  private pushSingle(type: TokenType): void {
    const start = this.r.mark();
    this.r.pos++;
    this.tokens.push(new Token(type, start, this.r.mark()));
  }

  private fetchAlias(): void {
    this.saveSimpleKey();
    this.allowSimpleKey = false;
    this.tokens.push(scanAnchor(this.r, T.Alias));
  }

  private fetchAnchor(): void {
    this.saveSimpleKey();
    this.allowSimpleKey = false;
    this.tokens.push(scanAnchor(this.r, T.Anchor));
  }

  private fetchTag(): void {
    this.saveSimpleKey();
    this.allowSimpleKey = false;
    this.tokens.push(scanTag(this.r));
  }

  private fetchBlockScalar(): void {
    this.allowSimpleKey = true;
    this.removeSimpleKey();
    this.tokens.push(scanBlockScalar(this.r, this.r.peek() === 62, this.indent));
  }

  private fetchFlowScalar(): void {
    this.saveSimpleKey();
    this.allowSimpleKey = false;
    this.tokens.push(scanFlowScalar(this.r, this.r.peek() === 34));
  }

  private fetchPlain(): void {
    this.saveSimpleKey();
    this.allowSimpleKey = false;
    const token = scanPlain(this.r, this.indent, this.flowLevel > 0);
    this.tokens.push(token);
    // A simple key may start the next line when the scalar ended at a line break.
    this.allowSimpleKey = this.r.line !== token.end.line;
  }

  private checkPlain(): boolean {
    const c = this.r.peek();
    if (!PLAIN_START_INDICATORS.has(c)) return true;
    const next = this.r.peek(1);
    if (c === 45 && !isBlankOrEnd(next)) return true;
    if (c === 58 && this.flowLevel > 0 && next !== SP && next !== TAB) return true;
    return !isBlankOrEnd(next) && (c === 45 || (this.flowLevel === 0 && (c === 63 || c === 58)));
  }

  // --- scanners ---------------------------------------------------------------------------------------------

  /** Skips spaces, comments and line breaks; a line break in block context makes a simple key possible again. */
  private scanToNextToken(): void {
    for (;;) {
      this.r.skipSpaces();
      if (this.r.peek() === 35) {
        this.r.skipToLineEnd();
      }
      if (this.r.lineBreak() === "") return;
      if (this.flowLevel === 0) this.allowSimpleKey = true;
    }
  }
}
