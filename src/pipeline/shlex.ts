/**
 * Shell words exactly as Python's `shlex` does them in POSIX mode with comments off (`shlex.split`), and the
 * matching quoting (`shlex.quote`, `shlex.join`). The reference splits every `run:` line this way and builds the
 * job's `run_command` with `shlex.join`, so any difference would change what runs.
 */
import { ShellSyntaxError } from "./errors.js";

const SPACE = 32;
const TAB = 9;
const LF = 10;
const CR = 13;
const SINGLE_QUOTE = 39;
const DOUBLE_QUOTE = 34;
const BACKSLASH = 92;
/** Characters that end a run of ordinary characters outside quotes (a table: this is on the hot path). */
const SPECIAL = new Uint8Array(128);
for (const code of [SPACE, TAB, LF, CR, SINGLE_QUOTE, DOUBLE_QUOTE, BACKSLASH]) SPECIAL[code] = 1;

const QUOTING = /['"\\]/;
const BLANKS = /[ \t\r\n]+/;

/**
 * Python's `shlex.split(s)`: whitespace (space, tab, CR, LF only) separates words; single quotes keep everything
 * literally; inside double quotes a backslash escapes only `"` and `\`; outside quotes it escapes any character
 * (a backslash-newline keeps the newline). `''` is an empty word. `#` is an ordinary character.
 */
export function shlexSplit(s: string): string[] {
  // Most run lines have no quote or backslash: then the words are just the runs of non-blanks.
  if (!QUOTING.test(s)) return s.split(BLANKS).filter((word) => word !== "");
  const words: string[] = [];
  let word = "";
  let inWord = false; // a word has started (possibly empty, after a pair of quotes)
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === SPACE || c === TAB || c === LF || c === CR) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
      i++;
    } else if (c === SINGLE_QUOTE) {
      const close = s.indexOf("'", i + 1);
      if (close < 0) throw new ShellSyntaxError("No closing quotation");
      word += s.slice(i + 1, close);
      inWord = true;
      i = close + 1;
    } else if (c === DOUBLE_QUOTE) {
      i = readDoubleQuoted(s, i + 1, (text) => {
        word += text;
      });
      inWord = true;
    } else if (c === BACKSLASH) {
      if (i + 1 >= s.length) throw new ShellSyntaxError("No escaped character");
      word += s[i + 1];
      inWord = true;
      i += 2;
    } else {
      // A run of ordinary characters, copied in one slice.
      let end = i + 1;
      for (let code = s.charCodeAt(end); end < s.length && (code >= 128 || SPECIAL[code] === 0); ) {
        code = s.charCodeAt(++end);
      }
      word += s.slice(i, end);
      inWord = true;
      i = end;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** Reads a double-quoted part starting after the opening quote; returns the index after the closing quote. */
function readDoubleQuoted(s: string, from: number, append: (text: string) => void): number {
  let i = from;
  for (;;) {
    let end = i;
    while (end < s.length && s.charCodeAt(end) !== DOUBLE_QUOTE && s.charCodeAt(end) !== BACKSLASH) end++;
    append(s.slice(i, end));
    if (end >= s.length) throw new ShellSyntaxError("No closing quotation");
    if (s.charCodeAt(end) === DOUBLE_QUOTE) return end + 1;
    if (end + 1 >= s.length) throw new ShellSyntaxError("No escaped character");
    const next = s.charCodeAt(end + 1);
    // Python keeps the backslash unless it escapes the quote or another backslash.
    append(next === DOUBLE_QUOTE || next === BACKSLASH ? (s[end + 1] as string) : s.slice(end, end + 2));
    i = end + 2;
  }
}

// Python: re.compile(r'[^\w@%+=:,./-]', re.ASCII)
const UNSAFE = /[^\w@%+=:,./-]/;

/** Python's `shlex.quote(s)`: bare when safe, otherwise single-quoted with `'` written as `'"'"'`. */
export function shlexQuote(s: string): string {
  if (s === "") return "''";
  if (!UNSAFE.test(s)) return s;
  return `'${s.replaceAll("'", `'"'"'`)}'`;
}

/** Python's `shlex.join(parts)`. */
export function shlexJoin(parts: readonly string[]): string {
  return parts.map(shlexQuote).join(" ");
}
