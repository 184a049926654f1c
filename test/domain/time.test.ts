import { describe, expect, test } from "vitest";
import { isoFromUnixSeconds } from "../../src/domain/time.js";

describe("isoFromUnixSeconds", () => {
  test.each([
    [1700000000, "2023-11-14T22:13:20Z"],
    [1700000000.25, "2023-11-14T22:13:20.250000Z"],
    [1754998245.123456, "2025-08-12T11:30:45.123456Z"],
    [0, "1970-01-01T00:00:00Z"],
  ])("%s → %s", (seconds, expected) => {
    expect(isoFromUnixSeconds(seconds)).toBe(expected);
  });
});
