/** Directives (`%YAML`, `%TAG`), anchors, aliases and tags, with the reference's error texts. */
import type { Mark } from "./errors.js";
import {
  codes,
  isBlankOrEnd,
  isBreak,
  isBreakOrEnd,
  isDigit,
  isHexDigit,
  isWordChar,
  type Reader,
  SP,
} from "./reader.js";
import { T, Token, type TokenType } from "./tokens.js";

const URI_CHARS = codes("-;/?:@&=+$,_.!~*'()[]%");
const ANCHOR_FOLLOWERS = codes("\0 \t\r\n\x85\u2028\u2029?:,]}%@`");

export function scanDirective(r: Reader): Token {
  const start = r.mark();
  r.pos++;
  const name = scanDirectiveName(r, start);
  let args: string[] = [];
  let end: Mark;
  if (name === "YAML") {
    args = scanYamlDirectiveValue(r, start);
    end = r.mark();
  } else if (name === "TAG") {
    args = scanTagDirectiveValue(r, start);
    end = r.mark();
  } else {
    end = r.mark();
    r.skipToLineEnd();
  }
  scanDirectiveIgnoredLine(r, start);
  return new Token(T.Directive, start, end, name, false, null, args);
}

function scanDirectiveName(r: Reader, start: Mark): string {
  let length = 0;
  while (isWordChar(r.peek(length))) length++;
  if (length === 0) {
    throw r.error(
      "while scanning a directive",
      start,
      `expected alphabetic or numeric character, but found ${r.repr()}`,
      r.mark(),
    );
  }
  const name = r.src.slice(r.pos, r.pos + length);
  r.pos += length;
  const c = r.peek();
  if (!(c === 0 || c === SP || isBreak(c))) {
    throw r.error(
      "while scanning a directive",
      start,
      `expected alphabetic or numeric character, but found ${r.repr()}`,
      r.mark(),
    );
  }
  return name;
}

function scanYamlDirectiveValue(r: Reader, start: Mark): string[] {
  r.skipSpaces();
  const major = scanYamlDirectiveNumber(r, start);
  if (r.peek() !== 46) {
    throw r.error(
      "while scanning a directive",
      start,
      `expected a digit or '.', but found ${r.repr()}`,
      r.mark(),
    );
  }
  r.pos++;
  const minor = scanYamlDirectiveNumber(r, start);
  const c = r.peek();
  if (!(c === 0 || c === SP || isBreak(c))) {
    throw r.error(
      "while scanning a directive",
      start,
      `expected a digit or ' ', but found ${r.repr()}`,
      r.mark(),
    );
  }
  return [major, minor];
}

function scanYamlDirectiveNumber(r: Reader, start: Mark): string {
  if (!isDigit(r.peek())) {
    throw r.error("while scanning a directive", start, `expected a digit, but found ${r.repr()}`, r.mark());
  }
  let length = 0;
  while (isDigit(r.peek(length))) length++;
  const text = String(Number(r.src.slice(r.pos, r.pos + length)));
  r.pos += length;
  return text;
}

function scanTagDirectiveValue(r: Reader, start: Mark): string[] {
  r.skipSpaces();
  const handle = scanTagHandle(r, "directive", start);
  if (r.peek() !== SP) {
    throw r.error("while scanning a directive", start, `expected ' ', but found ${r.repr()}`, r.mark());
  }
  r.skipSpaces();
  const prefix = scanTagUri(r, "directive", start);
  const c = r.peek();
  if (!(c === 0 || c === SP || isBreak(c))) {
    throw r.error("while scanning a directive", start, `expected ' ', but found ${r.repr()}`, r.mark());
  }
  return [handle, prefix];
}

function scanDirectiveIgnoredLine(r: Reader, start: Mark): void {
  r.skipSpaces();
  if (r.peek() === 35) {
    r.skipToLineEnd();
  }
  if (!isBreakOrEnd(r.peek())) {
    throw r.error(
      "while scanning a directive",
      start,
      `expected a comment or a line break, but found ${r.repr()}`,
      r.mark(),
    );
  }
  r.lineBreak();
}

export function scanAnchor(r: Reader, type: TokenType): Token {
  const start = r.mark();
  const what = type === T.Alias ? "alias" : "anchor";
  r.pos++;
  let length = 0;
  while (isWordChar(r.peek(length))) length++;
  if (length === 0 || !ANCHOR_FOLLOWERS.has(r.peek(length))) {
    r.pos += length;
    throw r.error(
      `while scanning an ${what}`,
      start,
      `expected alphabetic or numeric character, but found ${r.repr()}`,
      r.mark(),
    );
  }
  const name = r.src.slice(r.pos, r.pos + length);
  r.pos += length;
  return new Token(type, start, r.mark(), name);
}

export function scanTag(r: Reader): Token {
  const start = r.mark();
  const next = r.peek(1);
  let handle: string | null;
  let suffix: string;
  if (next === 60) {
    // Verbatim: !<tag:yaml.org,2002:str>
    handle = null;
    r.pos += 2;
    suffix = scanTagUri(r, "tag", start);
    if (r.peek() !== 62) {
      throw r.error("while parsing a tag", start, `expected '>', but found ${r.repr()}`, r.mark());
    }
    r.pos++;
  } else if (isBlankOrEnd(next)) {
    // The non-specific tag `!`.
    handle = null;
    suffix = "!";
    r.pos++;
  } else {
    let length = 1;
    let useHandle = false;
    for (let c = next; !(c === 0 || c === SP || isBreak(c)); c = r.peek(length)) {
      if (c === 33) {
        useHandle = true;
        break;
      }
      length++;
    }
    if (useHandle) {
      handle = scanTagHandle(r, "tag", start);
    } else {
      handle = "!";
      r.pos++;
    }
    suffix = scanTagUri(r, "tag", start);
  }
  const c = r.peek();
  if (!(c === 0 || c === SP || isBreak(c))) {
    throw r.error("while scanning a tag", start, `expected ' ', but found ${r.repr()}`, r.mark());
  }
  return new Token(T.Tag, start, r.mark(), suffix, false, handle);
}

function scanTagHandle(r: Reader, what: string, start: Mark): string {
  if (r.peek() !== 33) {
    throw r.error(`while scanning a ${what}`, start, `expected '!', but found ${r.repr()}`, r.mark());
  }
  let length = 1;
  if (r.peek(1) !== SP) {
    while (isWordChar(r.peek(length))) length++;
    if (r.peek(length) !== 33) {
      r.pos += length;
      throw r.error(`while scanning a ${what}`, start, `expected '!', but found ${r.repr()}`, r.mark());
    }
    length++;
  }
  const handle = r.src.slice(r.pos, r.pos + length);
  r.pos += length;
  return handle;
}

function scanTagUri(r: Reader, what: string, start: Mark): string {
  let text = "";
  let length = 0;
  for (let c = r.peek(); isWordChar(c) || URI_CHARS.has(c); c = r.peek(length)) {
    if (c === 37) {
      text += r.src.slice(r.pos, r.pos + length);
      r.pos += length;
      length = 0;
      text += scanUriEscapes(r, what, start);
    } else {
      length++;
    }
  }
  text += r.src.slice(r.pos, r.pos + length);
  r.pos += length;
  if (text === "") {
    throw r.error(`while parsing a ${what}`, start, `expected URI, but found ${r.repr()}`, r.mark());
  }
  return text;
}

function scanUriEscapes(r: Reader, what: string, start: Mark): string {
  const bytes: number[] = [];
  const mark = r.mark();
  while (r.peek() === 37) {
    r.pos++;
    for (let k = 0; k < 2; k++) {
      if (!isHexDigit(r.peek(k))) {
        throw r.error(
          `while scanning a ${what}`,
          start,
          `expected URI escape sequence of 2 hexadecimal numbers, but found ${r.repr(k)}`,
          r.mark(),
        );
      }
    }
    bytes.push(Number.parseInt(r.src.slice(r.pos, r.pos + 2), 16));
    r.pos += 2;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array(bytes));
  } catch {
    throw r.error(`while scanning a ${what}`, start, "invalid utf-8 in URI escape", mark);
  }
}
