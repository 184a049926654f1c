/**
 * Timestamps in API answers, as the reference prints them (reference/controller.md §1.5), computed without a Date:
 * status answers carry four per job, so isoFromUnixSeconds' cost (about a microsecond) would add up.
 */
import { isoFromUnixSeconds } from "../domain/time.js";

const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, "0"));
const FIRST_FAST_DAY = 0; // 1970-01-01
const LAST_FAST_DAY = 2_932_896; // 9999-12-31

/**
 * isoFromUnixSeconds, about ten times faster: the calendar date from the day number by Howard Hinnant's
 * days-to-civil arithmetic, the time from the remainder, and the fraction rounded exactly as isoFromUnixSeconds
 * rounds it. Years outside 1970–9999 go to isoFromUnixSeconds.
 */
export function isoFromSeconds(seconds: number): string {
  let whole = Math.floor(seconds);
  let micros = Math.round((seconds - whole) * 1e6);
  if (micros === 1_000_000) {
    whole += 1;
    micros = 0;
  }
  const day = Math.floor(whole / 86_400);
  if (!Number.isFinite(seconds) || day < FIRST_FAST_DAY || day > LAST_FAST_DAY)
    return isoFromUnixSeconds(seconds);
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
  return `${year}-${TWO_DIGITS[month]}-${TWO_DIGITS[dayOfMonth]}T${TWO_DIGITS[hours]}:${TWO_DIGITS[minutes]}:${TWO_DIGITS[secs]}${fraction}Z`;
}
