import fc from "fast-check";
import { expect, test } from "vitest";
import { isoFromUnixSeconds } from "../../src/domain/time.js";
import { isoFromWholeSeconds } from "../../src/http/job-format.js";

test("isoFromWholeSeconds agrees with isoFromUnixSeconds for whole seconds from 1970 to 9999", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 253_402_300_799 }), (seconds) => {
      expect(isoFromWholeSeconds(seconds)).toBe(isoFromUnixSeconds(seconds));
    }),
    { numRuns: 5000 },
  );
});

test.each([0, 951_782_400, 1_700_000_000, 4_107_542_400, 253_402_300_799])("calendar edge %d", (seconds) => {
  expect(isoFromWholeSeconds(seconds)).toBe(isoFromUnixSeconds(seconds));
});

test("anything else falls back to isoFromUnixSeconds", () => {
  for (const seconds of [1754998245.123456, -1, 253_402_300_800]) {
    expect(isoFromWholeSeconds(seconds)).toBe(isoFromUnixSeconds(seconds));
  }
});
