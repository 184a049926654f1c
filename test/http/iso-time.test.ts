import fc from "fast-check";
import { expect, test } from "vitest";
import { isoFromUnixSeconds } from "../../src/domain/time.js";
import { isoFromSeconds } from "../../src/http/iso-time.js";

test("isoFromSeconds agrees with isoFromUnixSeconds for whole seconds from 1970 to 9999", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 253_402_300_799 }), (seconds) => {
      expect(isoFromSeconds(seconds)).toBe(isoFromUnixSeconds(seconds));
    }),
    { numRuns: 5000 },
  );
});

test("isoFromSeconds agrees with isoFromUnixSeconds for fractional seconds (flag timestamps)", () => {
  fc.assert(
    fc.property(fc.double({ min: 0, max: 253_402_300_799, noNaN: true }), (seconds) => {
      expect(isoFromSeconds(seconds)).toBe(isoFromUnixSeconds(seconds));
    }),
    { numRuns: 5000 },
  );
});

test.each([
  0, 951_782_400, 1_700_000_000, 4_107_542_400, 253_402_300_799, 1754998245.123456, 1754998300.9999995, 0.5,
])("edge %d", (seconds) => {
  expect(isoFromSeconds(seconds)).toBe(isoFromUnixSeconds(seconds));
});

test("outside 1970–9999 it is isoFromUnixSeconds", () => {
  for (const seconds of [-1, -0.5, 253_402_300_800])
    expect(isoFromSeconds(seconds)).toBe(isoFromUnixSeconds(seconds));
});
