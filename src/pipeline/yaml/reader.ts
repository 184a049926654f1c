/**
 * Reading the source text: the current position (line, column), line breaks as the reference counts them, and the
 * character tests the scanners share. Works on the UTF-16 code units of one string.
 */
import { charRepr, type Mark, markedError, type YamlError } from "./errors.js";

export const SP = 32;
export const TAB = 9;
export const LF = 10;
export const CR = 13;
export const NEL = 0x85;
export const LS = 0x2028;
export const PS = 0x2029;

export function isBreak(c: number): boolean {
  return c === LF || c === CR || c === NEL || c === LS || c === PS;
}
/** End of input (0) or a line break. */
export function isBreakOrEnd(c: number): boolean {
  return c === 0 || isBreak(c);
}
/** End of input, a line break, a space or a tab. */
export function isBlankOrEnd(c: number): boolean {
  return c === SP || c === TAB || c === 0 || isBreak(c);
}
export function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 95;
}
export function isHexDigit(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}
export function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
export function codes(chars: string): Set<number> {
  return new Set(Array.from(chars, (ch) => ch.charCodeAt(0)));
}
/** A lookup table over ASCII: faster than a Set on the per-character paths. */
export function asciiTable(chars: string): Uint8Array {
  const table = new Uint8Array(128);
  for (const ch of chars) table[ch.charCodeAt(0)] = 1;
  return table;
}

export class Reader {
  readonly src: string;
  pos = 0;
  line = 0;
  /** Where the current line starts; the column is `pos - lineStart`. */
  lineStart = 0;

  constructor(src: string) {
    this.src = src;
    // A byte order mark is skipped and, as in the reference, takes no column.
    if (src.charCodeAt(0) === 0xfeff) {
      this.pos = 1;
      this.lineStart = 1;
    }
  }

  error(
    context: string | null,
    contextMark: Mark | null,
    problem: string,
    problemMark: Mark | null,
  ): YamlError {
    return markedError(this.src, context, contextMark, problem, problemMark);
  }

  peek(k = 0): number {
    const i = this.pos + k;
    return i < this.src.length ? this.src.charCodeAt(i) : 0;
  }

  column(): number {
    return this.pos - this.lineStart;
  }

  mark(): Mark {
    return { index: this.pos, line: this.line, column: this.pos - this.lineStart };
  }

  repr(k = 0): string {
    return charRepr(this.src, this.pos + k);
  }

  /** Skips spaces (not tabs), up to `limit` if given. One call per run of spaces: this is on the hot path. */
  skipSpaces(limit = Number.POSITIVE_INFINITY): void {
    const src = this.src;
    let pos = this.pos;
    while (pos < limit && src.charCodeAt(pos) === SP) pos++;
    this.pos = pos;
  }

  /** Moves to the next line break or the end. */
  skipToLineEnd(): void {
    const src = this.src;
    let pos = this.pos;
    for (let c = src.charCodeAt(pos); pos < src.length && !isBreak(c); c = src.charCodeAt(++pos)) {
      // ordinary characters
    }
    this.pos = pos;
  }

  /** Consumes one line break (CRLF counts as one) and returns it normalised as the reference does, or "". */
  lineBreak(): string {
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

  atDocumentSeparator(): boolean {
    const c = this.peek();
    return (c === 45 || c === 46) && this.peek(1) === c && this.peek(2) === c && isBlankOrEnd(this.peek(3));
  }
}
