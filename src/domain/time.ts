/**
 * Formats a Unix timestamp in seconds the way the reference's API does (Python
 * `datetime.fromtimestamp(ts, UTC).isoformat()` with `+00:00` as `Z`): whole seconds print without a fraction, a
 * fractional value prints with exactly six digits of microseconds (unless they round to zero).
 */
export function isoFromUnixSeconds(seconds: number): string {
  const whole = Math.floor(seconds);
  const micros = Math.round((seconds - whole) * 1e6);
  const carry = micros === 1_000_000 ? 1 : 0;
  const base = new Date((whole + carry) * 1000).toISOString().slice(0, 19);
  if (micros === 0 || carry) return `${base}Z`;
  return `${base}.${String(micros).padStart(6, "0")}Z`;
}

/** Python's `datetime.now(UTC).isoformat()`: `2025-06-01T10:30:00.123456+00:00` (no fraction at a whole second). */
export function isoWithOffsetFromUnixSeconds(seconds: number): string {
  return `${isoFromUnixSeconds(seconds).slice(0, -1)}+00:00`;
}
