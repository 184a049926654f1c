/**
 * Plain objects list integer-like keys ("2020") before the others, whatever the insertion order. Where file order
 * matters (the `--config` JSON, output listings) objects built here remember their key order in a hidden property.
 */
const KEY_ORDER = Symbol("keyOrder");

// Keys a plain object lists first, in numeric order: array indices.
const INDEX_LIKE = /^(?:0|[1-9][0-9]{0,9})$/;

/** A plain object with these entries (even a `__proto__` key), remembering their order when it could be lost. */
export function orderedObject<V>(entries: Iterable<readonly [string, V]>): Record<string, V> {
  const result: Record<string, V> = {};
  const order: string[] = [];
  let reordered = false;
  for (const [key, value] of entries) {
    if (!Object.hasOwn(result, key)) order.push(key);
    if (key === "__proto__") {
      Object.defineProperty(result, key, { value, enumerable: true, writable: true, configurable: true });
    } else {
      result[key] = value;
    }
    if (INDEX_LIKE.test(key)) reordered = true;
  }
  if (reordered) Object.defineProperty(result, KEY_ORDER, { value: order, enumerable: false });
  return result;
}

/** The entries of a plain object, in the order it was built with when known. */
export function orderedEntries<V>(object: Record<string, V>): Array<[string, V]> {
  const order = (object as { [KEY_ORDER]?: string[] })[KEY_ORDER];
  if (order === undefined) return Object.entries(object);
  return order.filter((key) => Object.hasOwn(object, key)).map((key) => [key, object[key] as V]);
}
