/**
 * Scalars: plain (unquoted, possibly over several lines), single- and double-quoted, and `|`/`>` block scalars,
 * with the reference's folding, escapes and chomping rules, and its error texts.
 */
import type { Mark } from "./errors.js";
import {
  asciiTable,
  CR,
  isBlankOrEnd,
  isBreak,
  isBreakOrEnd,
  isDigit,
  isHexDigit,
  LF,
  LS,
  NEL,
  PS,
  type Reader,
  SP,
  TAB,
} from "./reader.js";
import { T, Token } from "./tokens.js";

/** What ends a plain scalar chunk, for ASCII: 1 stops it, 2 (`:`) stops it when a blank follows. */
const PLAIN_STOP_BLOCK = asciiTable("\0 \t\r\n");
PLAIN_STOP_BLOCK[58] = 2;
const PLAIN_STOP_FLOW = asciiTable("\0 \t\r\n,[]{}");
PLAIN_STOP_FLOW[58] = 2;

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

/** A `|` (literal) or `>` (folded) block scalar; `indent` is the scanner's current indentation. */
export function scanBlockScalar(r: Reader, folded: boolean, indent: number): Token {
  const start = r.mark();
  r.pos++;
  const { chomping, increment } = scanBlockScalarIndicators(r, start);
  scanBlockScalarIgnoredLine(r, start);
  let minIndent = indent + 1;
  let contentIndent: number;
  let breaks: string[];
  let end: Mark;
  if (increment === null) {
    // YAML 1.2 lets a top-level block scalar start in column 0.
    const scanned = scanBlockScalarIndentation(r);
    breaks = scanned.breaks;
    end = scanned.end;
    contentIndent = Math.max(minIndent, scanned.maxIndent);
  } else {
    if (minIndent < 1) minIndent = 1;
    contentIndent = minIndent + increment - 1;
    ({ breaks, end } = scanBlockScalarBreaks(r, contentIndent));
  }
  const chunks: string[] = [];
  let lineBreak = "";
  while (r.column() === contentIndent && r.peek() !== 0) {
    chunks.push(...breaks);
    const leadingNonSpace = r.peek() !== SP && r.peek() !== TAB;
    const lineStart = r.pos;
    r.skipToLineEnd();
    chunks.push(r.src.slice(lineStart, r.pos));
    lineBreak = r.lineBreak();
    ({ breaks, end } = scanBlockScalarBreaks(r, contentIndent));
    if (r.column() !== contentIndent || r.peek() === 0) break;
    if (folded && lineBreak === "\n" && leadingNonSpace && r.peek() !== SP && r.peek() !== TAB) {
      if (breaks.length === 0) chunks.push(" ");
    } else {
      chunks.push(lineBreak);
    }
  }
  if (chomping !== false) chunks.push(lineBreak);
  if (chomping === true) chunks.push(...breaks);
  return new Token(T.Scalar, start, end, chunks.join(""));
}

function scanBlockScalarIndicators(
  r: Reader,
  start: Mark,
): { chomping: boolean | null; increment: number | null } {
  let chomping: boolean | null = null;
  let increment: number | null = null;
  const readIncrement = (): void => {
    increment = r.peek() - 48;
    if (increment === 0) {
      throw r.error(
        "while scanning a block scalar",
        start,
        "expected indentation indicator in the range 1-9, but found 0",
        r.mark(),
      );
    }
    r.pos++;
  };
  let c = r.peek();
  if (c === 43 || c === 45) {
    chomping = c === 43;
    r.pos++;
    if (isDigit(r.peek())) readIncrement();
  } else if (isDigit(c)) {
    readIncrement();
    c = r.peek();
    if (c === 43 || c === 45) {
      chomping = c === 43;
      r.pos++;
    }
  }
  c = r.peek();
  if (!(c === 0 || c === SP || isBreak(c))) {
    throw r.error(
      "while scanning a block scalar",
      start,
      `expected chomping or indentation indicators, but found ${r.repr()}`,
      r.mark(),
    );
  }
  return { chomping, increment };
}

function scanBlockScalarIgnoredLine(r: Reader, start: Mark): void {
  r.skipSpaces();
  if (r.peek() === 35) {
    r.skipToLineEnd();
  }
  if (!isBreakOrEnd(r.peek())) {
    throw r.error(
      "while scanning a block scalar",
      start,
      `expected a comment or a line break, but found ${r.repr()}`,
      r.mark(),
    );
  }
  r.lineBreak();
}

function scanBlockScalarIndentation(r: Reader): { breaks: string[]; maxIndent: number; end: Mark } {
  const breaks: string[] = [];
  let maxIndent = 0;
  let end = r.mark();
  for (let c = r.peek(); c === SP || isBreak(c); c = r.peek()) {
    if (c === SP) {
      r.pos++;
      if (r.column() > maxIndent) maxIndent = r.column();
    } else {
      breaks.push(r.lineBreak());
      end = r.mark();
    }
  }
  return { breaks, maxIndent, end };
}

function scanBlockScalarBreaks(r: Reader, indent: number): { breaks: string[]; end: Mark } {
  const breaks: string[] = [];
  let end = r.mark();
  r.skipSpaces(r.lineStart + indent);
  while (isBreak(r.peek())) {
    breaks.push(r.lineBreak());
    end = r.mark();
    r.skipSpaces(r.lineStart + indent);
  }
  return { breaks, end };
}

export function scanFlowScalar(r: Reader, double: boolean): Token {
  const start = r.mark();
  const quote = r.peek();
  r.pos++;
  const chunks: string[] = [];
  scanFlowScalarNonSpaces(r, double, start, chunks);
  while (r.peek() !== quote) {
    scanFlowScalarSpaces(r, start, chunks);
    scanFlowScalarNonSpaces(r, double, start, chunks);
  }
  r.pos++;
  return new Token(T.Scalar, start, r.mark(), chunks.join(""));
}

function scanFlowScalarNonSpaces(r: Reader, double: boolean, start: Mark, chunks: string[]): void {
  const src = r.src;
  for (;;) {
    let end = r.pos;
    for (let c = src.charCodeAt(end); end < src.length && QUOTED_STOP[c] !== 1; c = src.charCodeAt(++end)) {
      // ordinary characters
    }
    if (end > r.pos) {
      chunks.push(src.slice(r.pos, end));
      r.pos = end;
    }
    const c = r.peek();
    if (!double && c === 39 && r.peek(1) === 39) {
      chunks.push("'");
      r.pos += 2;
    } else if ((double && c === 39) || (!double && (c === 34 || c === 92))) {
      chunks.push(String.fromCharCode(c));
      r.pos++;
    } else if (double && c === 92) {
      r.pos++;
      const e = String.fromCharCode(r.peek());
      const replacement = ESCAPES[e];
      const hexLength = ESCAPE_LENGTHS[e];
      if (replacement !== undefined) {
        chunks.push(replacement);
        r.pos++;
      } else if (hexLength !== undefined) {
        r.pos++;
        for (let k = 0; k < hexLength; k++) {
          if (!isHexDigit(r.peek(k))) {
            throw r.error(
              "while scanning a double-quoted scalar",
              start,
              `expected escape sequence of ${hexLength} hexdecimal numbers, but found ${r.repr(k)}`,
              r.mark(),
            );
          }
        }
        const code = Number.parseInt(r.src.slice(r.pos, r.pos + hexLength), 16);
        if (code > 0x10ffff) {
          throw r.error(
            "while scanning a double-quoted scalar",
            start,
            `found escape of a code point beyond U+10FFFF`,
            r.mark(),
          );
        }
        chunks.push(String.fromCodePoint(code));
        r.pos += hexLength;
      } else if (isBreak(r.peek())) {
        r.lineBreak();
        chunks.push(...scanFlowScalarBreaks(r, start));
      } else {
        throw r.error(
          "while scanning a double-quoted scalar",
          start,
          `found unknown escape character ${r.repr()}`,
          r.mark(),
        );
      }
    } else {
      return;
    }
  }
}

function scanFlowScalarSpaces(r: Reader, start: Mark, chunks: string[]): void {
  let length = 0;
  while (r.peek(length) === SP || r.peek(length) === TAB) length++;
  const whitespace = r.src.slice(r.pos, r.pos + length);
  r.pos += length;
  const c = r.peek();
  if (c === 0) {
    throw r.error("while scanning a quoted scalar", start, "found unexpected end of stream", r.mark());
  }
  if (isBreak(c)) {
    const lineBreak = r.lineBreak();
    const breaks = scanFlowScalarBreaks(r, start);
    if (lineBreak !== "\n") chunks.push(lineBreak);
    else if (breaks.length === 0) chunks.push(" ");
    chunks.push(...breaks);
  } else {
    chunks.push(whitespace);
  }
}

function scanFlowScalarBreaks(r: Reader, start: Mark): string[] {
  const breaks: string[] = [];
  for (;;) {
    // Quoted scalars ignore indentation but may not run into a document separator.
    if (r.atDocumentSeparator()) {
      throw r.error("while scanning a quoted scalar", start, "found unexpected document separator", r.mark());
    }
    while (r.peek() === SP || r.peek() === TAB) r.pos++;
    if (!isBreak(r.peek())) return breaks;
    breaks.push(r.lineBreak());
  }
}

/**
 * A plain (unquoted) scalar, possibly over several lines. `indent` is the scanner's current indentation: a
 * continuation line must be indented more. Afterwards a simple key is possible again exactly when the scalar
 * ended at a line break (the caller compares lines).
 */
export function scanPlain(r: Reader, indent: number, flow: boolean): Token {
  const start = r.mark();
  let endIndex = r.pos;
  let endLine = r.line;
  let endLineStart = r.lineStart;
  const minColumn = indent + 1;
  let value = "";
  let spaces = "";
  for (;;) {
    if (r.peek() === 35) break;
    // The hot loop of the whole loader: most of a project file is plain scalars.
    const stops = flow ? PLAIN_STOP_FLOW : PLAIN_STOP_BLOCK;
    const src = r.src;
    let end = r.pos;
    while (end < src.length) {
      const c = src.charCodeAt(end);
      if (c < 128) {
        const stop = stops[c];
        // `:` ends a plain scalar only when a blank follows.
        if (stop === 1 || (stop === 2 && isBlankOrEnd(r.peek(end + 1 - r.pos)))) break;
      } else if (c === NEL || c === LS || c === PS) {
        break;
      }
      end++;
    }
    const length = end - r.pos;
    if (length === 0) break;
    value += spaces + r.src.slice(r.pos, r.pos + length);
    r.pos += length;
    endIndex = r.pos;
    endLine = r.line;
    endLineStart = r.lineStart;
    const next = scanPlainSpaces(r);
    if (next === null || next === "" || r.peek() === 35 || (!flow && r.column() < minColumn)) break;
    spaces = next;
  }
  const end = { index: endIndex, line: endLine, column: endIndex - endLineStart };
  return new Token(T.Scalar, start, end, value, true);
}

/** The whitespace after a plain scalar chunk, folded; null when a document separator follows a line break. */
function scanPlainSpaces(r: Reader): string | null {
  const from = r.pos;
  r.skipSpaces();
  if (!isBreak(r.peek())) return r.src.slice(from, r.pos);
  const lineBreak = r.lineBreak();
  if (r.atDocumentSeparator()) return null;
  let breaks = "";
  for (let c = r.peek(); c === SP || isBreak(c); c = r.peek()) {
    if (c === SP) {
      r.pos++;
    } else {
      breaks += r.lineBreak();
      if (r.atDocumentSeparator()) return null;
    }
  }
  if (lineBreak !== "\n") return lineBreak + breaks;
  return breaks === "" ? " " : breaks;
}
