/** Python's number printing, checked against CPython 3.11's output. */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { pyFixed2, pyFloatRepr, pyIntRepr, pyRound2Repr } from "../../src/python/float.js";

describe("pyFloatRepr: repr(float)", () => {
  test.each([
    [1, "1.0"],
    [3, "3.0"],
    [100, "100.0"],
    [-2.5, "-2.5"],
    [2.99, "2.99"],
    [0, "0.0"],
    [-0, "-0.0"],
    [0.1, "0.1"],
    [0.0001, "0.0001"],
    [0.00001, "1e-05"],
    [-2.5e-7, "-2.5e-07"],
    [-2.5e-10, "-2.5e-10"],
    [1e15, "1000000000000000.0"],
    [1234567890123456, "1234567890123456.0"],
    [9999999999999998, "9999999999999998.0"],
    [1e16, "1e+16"],
    [12345678901234568, "1.2345678901234568e+16"],
    [1e22, "1e+22"],
    [1.2345678901234568e17, "1.2345678901234568e+17"],
    [1.5e300, "1.5e+300"],
    [1.7976931348623157e308, "1.7976931348623157e+308"],
    [5e-324, "5e-324"],
    [Number.NaN, "nan"],
    [Infinity, "inf"],
    [-Infinity, "-inf"],
  ])("repr(float(%s)) = %s", (value, expected) => {
    expect(pyFloatRepr(value)).toBe(expected);
  });

  test("a float's repr reads back as the same number", () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (value) => {
        expect(Number(pyFloatRepr(value))).toBe(value);
      }),
    );
  });
});

test.each([
  [0, "0"],
  [-7, "-7"],
  [2 ** 60, "1152921504606846976"],
  [-(2 ** 70), "-1180591620717411303424"],
  [10n ** 30n, "1000000000000000000000000000000"],
])("pyIntRepr(%s) = %s", (value, expected) => {
  expect(pyIntRepr(value)).toBe(expected);
});

describe("rounded forms: ties go to even, as Python rounds exact binary fractions", () => {
  test.each([
    [1, "1.0", "1.00"],
    [0.5, "0.5", "0.50"],
    [0.125, "0.12", "0.12"],
    [0.375, "0.38", "0.38"],
    [16.2109375, "16.21", "16.21"],
    [4, "4.0", "4.00"],
    [0.005859375, "0.01", "0.01"],
    [0, "0.0", "0.00"],
    [1023.99609375, "1024.0", "1024.00"],
  ])("%s: repr(round(x, 2)) = %s, f'{x:.2f}' = %s", (value, round2, fixed2) => {
    expect(pyRound2Repr(value)).toBe(round2);
    expect(pyFixed2(value)).toBe(fixed2);
  });
});
