/**
 * Timestamps as the reference prints them (reference/controller.md §1.5): Python's
 * `datetime.fromtimestamp(ts, UTC).isoformat()`. Whole seconds print without a fraction; a fractional value prints
 * exactly six digits of microseconds (unless they round to zero).
 *
 * Computed without a Date, about ten times faster than formatting one: status answers carry four per job. The
 * calendar date comes from the day number by Howard Hinnant's days-to-civil arithmetic, the time from the
 * remainder. Outside Python's years (1–9999) the text is Date.toISOString's (`+010000-…`), and a time a Date cannot
 * hold throws the RangeError a Date would.
 */

const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, "0"));
/** A Date's range: 100,000,000 days either side of 1970. */
const MAX_SECONDS = 8.64e12;

/** Python's datetime years are 1–9999: 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z in Unix seconds. */
const PYTHON_FIRST_SECOND = -62_135_596_800;
const PYTHON_LAST_SECOND = 253_402_300_799;

/** Whether Python could print this time at all (a datetime of years 1–9999): what a Python client can read. */
export function isPythonTime(seconds: number): boolean {
  return seconds >= PYTHON_FIRST_SECOND && seconds < PYTHON_LAST_SECOND + 1;
}

/** isoFromUnixSeconds, or null for a time Python could not print (isPythonTime): for reads of stored values. */
export function isoOrNullFromUnixSeconds(seconds: number): string | null {
  return isPythonTime(seconds) ? isoFromUnixSeconds(seconds) : null;
}

/** The timestamp with `Z` for UTC: `2025-06-01T10:30:00.123456Z`, the API's form. */
export function isoFromUnixSeconds(seconds: number): string {
  let whole = Math.floor(seconds);
  let micros = Math.round((seconds - whole) * 1e6);
  if (micros === 1_000_000) {
    whole += 1;
    micros = 0;
  }
  if (!(Math.abs(whole) <= MAX_SECONDS)) throw new RangeError("Invalid time value");
  const day = Math.floor(whole / 86_400);
  let rest = whole - day * 86_400;
  const z = day + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const shiftedMonth = Math.floor((5 * dayOfYear + 2) / 153);
  const dayOfMonth = dayOfYear - Math.floor((153 * shiftedMonth + 2) / 5) + 1;
  const month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const hours = Math.floor(rest / 3600);
  rest -= hours * 3600;
  const minutes = Math.floor(rest / 60);
  const secs = rest - minutes * 60;
  const fraction = micros === 0 ? "" : `.${String(micros).padStart(6, "0")}`;
  return `${yearText(year)}-${TWO_DIGITS[month]}-${TWO_DIGITS[dayOfMonth]}T${TWO_DIGITS[hours]}:${TWO_DIGITS[minutes]}:${TWO_DIGITS[secs]}${fraction}Z`;
}

function yearText(year: number): string {
  if (year >= 0 && year <= 9999) return String(year).padStart(4, "0");
  return `${year < 0 ? "-" : "+"}${String(Math.abs(year)).padStart(6, "0")}`;
}

/** Python's `datetime.now(UTC).isoformat()`: `2025-06-01T10:30:00.123456+00:00` (no fraction at a whole second). */
export function isoWithOffsetFromUnixSeconds(seconds: number): string {
  return `${isoFromUnixSeconds(seconds).slice(0, -1)}+00:00`;
}
