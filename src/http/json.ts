/**
 * Response bodies are JSON with every non-ASCII character escaped, as Python's json.dumps does by default
 * (`ensure_ascii`). Separators are compact everywhere; the reference uses ", " and ": " except on backend/status,
 * which clients cannot tell apart once parsed.
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

export function toAsciiJson(value: unknown): string {
  return asciiJson(JSON.stringify(value));
}
