/** Python's truthiness of a JSON-like value: what `if value:` decides in the reference. */
export function pyTruthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === "") return false;
  // 0 and -0 are false; NaN, unlike in JavaScript, is true.
  if (typeof value === "number" || typeof value === "bigint") return value !== 0 && value !== 0n;
  if (Array.isArray(value)) return value.length > 0;
  if (value instanceof Map) return value.size > 0;
  if (typeof value === "object") return Object.keys(value).length > 0;
  return true;
}
