/**
 * How much of a client's value a message repeats back (DESIGN DECISIONS 16): enough to recognise it, never the
 * whole of a huge one, which would multiply a hostile request's size into the answer and the logs.
 */
import { reprPrefix } from "../python/repr.js";
import type { PyValue } from "../python/values.js";

const ECHO_LIMIT = 200;

/** The first `limit` characters of `text`, then `…` when anything was left out. */
export function echo(text: string, limit = ECHO_LIMIT): string {
  return cut(text, limit, () => "…");
}

/** The first `limit` characters of `text`, then `marker(characters left out)` when anything was left out. */
export function cut(text: string, limit: number, marker: (omitted: number) => string): string {
  if (text.length <= limit) return text;
  // Never cut a surrogate pair in half.
  const end = /[\uD800-\uDBFF]/.test(text[limit - 1]!) ? limit - 1 : limit;
  return `${text.slice(0, end)}${marker(text.length - end)}`;
}

/** echo() of the value's Python repr, turning no more of the value into text than shows. */
export function echoRepr(value: PyValue, limit = ECHO_LIMIT): string {
  return echo(reprPrefix(value, limit), limit);
}
