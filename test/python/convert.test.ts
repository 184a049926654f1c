/** What Python's float() and int() make of a value, checked against Python 3's results. */
import { expect, it } from "vitest";
import { pyFloat, pyInt } from "../../src/python/convert.js";
import { PythonFloat } from "../../src/python/values.js";

it.each([
  ["3.0", 3],
  [" 4 ", 4],
  ["1_0.5", 10.5],
  ["1e3", 1000],
  ["-inf", Number.NEGATIVE_INFINITY],
  [true, 1],
  [new PythonFloat(2), 2],
  ["latest", undefined],
  ["1__0", undefined],
  [null, undefined],
])("float(%j) = %s", (value, result) => {
  expect(pyFloat(value)).toBe(result);
});

it.each([
  ["5000", 5000],
  [10.7, 10],
  [true, 1],
  [" 7 ", 7],
  ["10.5", undefined],
  [null, undefined],
  [new PythonFloat(Number.NaN), undefined],
])("int(%j) = %s", (value, result) => {
  expect(pyInt(value)).toBe(result);
});
