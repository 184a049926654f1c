/** Python's bool() of JSON-like values, checked against Python 3. */
import { expect, test } from "vitest";
import { pyTruthy } from "../../src/python/truth.js";

test.each([
  [null, false],
  [undefined, false],
  [false, false],
  [true, true],
  [0, false],
  [-0, false],
  [0n, false],
  [2n, true],
  [Number.NaN, true],
  [0.5, true],
  ["", false],
  ["False", true],
  [[], false],
  [[0], true],
  [{}, false],
  [{ a: null }, true],
  [new Map(), false],
  [new Map([["a", 1]]), true],
])("bool(%o) is %s", (value, expected) => {
  expect(pyTruthy(value)).toBe(expected);
});
