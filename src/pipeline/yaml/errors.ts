/**
 * YAML errors worded and laid out as the reference's parser (ruyaml, a PyYAML descendant) prints them: a context
 * line with its position, a problem line with its position, each position followed by the source line and a caret.
 * Users compare our messages with what the Python tools told them, so the layout is kept.
 */
import { pyStrRepr } from "../../python/repr.js";

/** A position in the source. `column` counts UTF-16 units from the start of the line (converted for display). */
export interface Mark {
  readonly index: number;
  readonly line: number;
  readonly column: number;
}

const SOURCE_NAME = "<unicode string>";

export class YamlError extends Error {
  override readonly name = "YamlError";
}

/** An error at a position, with an optional context position (e.g. where the enclosing mapping started). */
export function markedError(
  source: string,
  context: string | null,
  contextMark: Mark | null,
  problem: string,
  problemMark: Mark | null,
): YamlError {
  return new YamlError(describe(source, context, contextMark, problem, problemMark));
}

function describe(
  source: string,
  context: string | null,
  contextMark: Mark | null,
  problem: string,
  problemMark: Mark | null,
): string {
  const lines: string[] = [];
  if (context !== null) lines.push(context);
  // The context position is left out when it is the same place as the problem, as in the reference.
  if (
    contextMark !== null &&
    (problemMark === null ||
      contextMark.line !== problemMark.line ||
      contextMark.column !== problemMark.column)
  ) {
    lines.push(formatMark(source, contextMark));
  }
  lines.push(problem);
  if (problemMark !== null) lines.push(formatMark(source, problemMark));
  return lines.join("\n");
}

function isLineEnd(code: number): boolean {
  return code === 10 || code === 13 || code === 0x85 || code === 0x2028 || code === 0x2029;
}

// The reference shows at most this many characters either side of the caret, marking cuts with " ... ".
const SNIPPET_SIDE = 32;

/**
 * `  in "<unicode string>", line L, column C:` then the source line (cut to about 75 characters around the
 * position) and a caret under the position, as ruyaml's StringMark does. Columns count code points, as Python does.
 */
export function formatMark(source: string, mark: Mark): string {
  const lineStart = mark.index - mark.column;
  let lineEnd = mark.index;
  while (lineEnd < source.length && !isLineEnd(source.charCodeAt(lineEnd))) lineEnd++;
  let before = Array.from(source.slice(lineStart, mark.index));
  let after = Array.from(source.slice(mark.index, lineEnd));
  const column = before.length;
  let head = "";
  let tail = "";
  if (before.length > SNIPPET_SIDE + 4) {
    head = " ... ";
    before = before.slice(before.length - SNIPPET_SIDE);
  }
  if (after.length > SNIPPET_SIDE + 4) {
    tail = " ... ";
    after = after.slice(0, SNIPPET_SIDE);
  }
  const snippet = `    ${head}${before.join("")}${after.join("")}${tail}`;
  const caret = `${" ".repeat(4 + head.length + before.length)}^ (line: ${mark.line + 1})`;
  return `  in "${SOURCE_NAME}", line ${mark.line + 1}, column ${column + 1}:\n${snippet}\n${caret}`;
}

/** Python's `%r` of one character, as the reference quotes unexpected characters. */
export function charRepr(source: string, index: number): string {
  if (index >= source.length) return pyStrRepr("\0");
  return pyStrRepr(String.fromCodePoint(source.codePointAt(index) ?? 0));
}

/** The reader's check: the reference refuses control characters and other non-printable code points up front. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the allowed set is defined by code point ranges.
const NON_PRINTABLE = /[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

export function checkPrintable(source: string): void {
  const match = NON_PRINTABLE.exec(source);
  if (match === null) return;
  const code = match[0].codePointAt(0) ?? 0;
  const position = Array.from(source.slice(0, match.index)).length;
  throw new YamlError(
    `unacceptable character #x${code.toString(16).padStart(4, "0")}: special characters are not allowed\n` +
      `  in "${SOURCE_NAME}", position ${position}`,
  );
}
