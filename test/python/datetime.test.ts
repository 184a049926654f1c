import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { isoFromUnixSeconds, isoWithOffsetFromUnixSeconds } from "../../src/python/datetime.js";

/** The obvious way, by a Date: what the fast isoFromUnixSeconds must agree with. */
function isoByDate(seconds: number): string {
  const whole = Math.floor(seconds);
  const micros = Math.round((seconds - whole) * 1e6);
  const carry = micros === 1_000_000 ? 1 : 0;
  const base = new Date((whole + carry) * 1000).toISOString().slice(0, -5);
  if (micros === 0 || carry) return `${base}Z`;
  return `${base}.${String(micros).padStart(6, "0")}Z`;
}

describe("isoFromUnixSeconds: Python's isoformat(), with Z", () => {
  test.each([
    [1700000000, "2023-11-14T22:13:20Z"],
    [1700000000.25, "2023-11-14T22:13:20.250000Z"],
    [1754998245.123456, "2025-08-12T11:30:45.123456Z"],
    [1754998300.9999995, "2025-08-12T11:31:41Z"],
    [0, "1970-01-01T00:00:00Z"],
    [-0.5, "1969-12-31T23:59:59.500000Z"],
    [951_782_400, "2000-02-29T00:00:00Z"],
    [253_402_300_799, "9999-12-31T23:59:59Z"],
    [-62_135_596_800, "0001-01-01T00:00:00Z"],
  ])("%s → %s", (seconds, expected) => {
    expect(isoFromUnixSeconds(seconds)).toBe(expected);
  });

  test("agrees with the Date-based formatting for whole seconds across a Date's range", () => {
    fc.assert(
      fc.property(fc.integer({ min: -8.64e12, max: 8.64e12 }), (seconds) => {
        expect(isoFromUnixSeconds(seconds)).toBe(isoByDate(seconds));
      }),
      { numRuns: 5000 },
    );
  });

  test("agrees with the Date-based formatting for whole seconds from 1970 to 9999", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 253_402_300_799 }), (seconds) => {
        expect(isoFromUnixSeconds(seconds)).toBe(isoByDate(seconds));
      }),
      { numRuns: 5000 },
    );
  });

  test("agrees with the Date-based formatting for fractional seconds (flag timestamps)", () => {
    fc.assert(
      fc.property(fc.double({ min: -62_135_596_800, max: 253_402_300_799, noNaN: true }), (seconds) => {
        expect(isoFromUnixSeconds(seconds)).toBe(isoByDate(seconds));
      }),
      { numRuns: 5000 },
    );
  });

  test("outside Python's years it prints as a Date does, and throws where a Date would", () => {
    for (const seconds of [-62_135_596_801, 253_402_300_800, -8.64e12, 8.64e12])
      expect(isoFromUnixSeconds(seconds)).toBe(isoByDate(seconds));
    for (const seconds of [Number.NaN, Infinity, 8.64e12 + 1])
      expect(() => isoFromUnixSeconds(seconds)).toThrow(RangeError);
  });
});

test("isoWithOffsetFromUnixSeconds: isoformat() with +00:00", () => {
  expect(isoWithOffsetFromUnixSeconds(1700000000)).toBe("2023-11-14T22:13:20+00:00");
  expect(isoWithOffsetFromUnixSeconds(1700000000.25)).toBe("2023-11-14T22:13:20.250000+00:00");
});
