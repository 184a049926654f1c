/**
 * Python's `json.dumps` escapes every character outside printable ASCII as `\uXXXX` (`ensure_ascii`, on by default;
 * surrogate pairs as two escapes). JSON.stringify already escapes the control characters the way Python does
 * (`\n`, `\u001f`, lone surrogates), so the rest is escaping DEL and everything above it.
 * Response bodies use this with JSON.stringify's compact separators: the reference uses ", " and ": " except on
 * backend/status, which clients cannot tell apart once parsed.
 */

const NON_ASCII = /[\u007f-\uffff]/;
const NON_ASCII_ALL = /[\u007f-\uffff]/g;

function unicodeEscape(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/** Escapes the non-ASCII characters of a JSON text (a no-op, and cheap, for ASCII text). */
export function asciiJson(json: string): string {
  return NON_ASCII.test(json) ? json.replace(NON_ASCII_ALL, unicodeEscape) : json;
}

/** JSON.stringify's text with Python's `ensure_ascii` escaping. */
export function toAsciiJson(value: unknown): string {
  return asciiJson(JSON.stringify(value));
}
