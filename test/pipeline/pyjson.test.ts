/** Python formatting: json.dumps, float repr and str repr, checked against Python 3's output. */
import { describe, expect, it } from "vitest";
import { PythonFloat, pythonJsonDumps } from "../../src/pipeline/index.js";
import { pyFloat, pyFloatRepr, pyInt, pyStrRepr } from "../../src/pipeline/python.js";

describe("pythonJsonDumps gives json.dumps's text", () => {
  it("prints ints, floats, strings, nesting with Python's separators and escapes", () => {
    const value = {
      a: 1,
      b: new PythonFloat(1),
      c: 1.5,
      d: [1e-5, new PythonFloat(1e16), new PythonFloat(123456789012345680000), new PythonFloat(-0), 0.1],
      e: "ü'\"\\\n\t\x7f\u2028😀",
      f: null,
      g: true,
      h: {},
      i: [],
    };
    expect(pythonJsonDumps(value)).toBe(
      '{"a": 1, "b": 1.0, "c": 1.5, "d": [1e-05, 1e+16, 1.2345678901234568e+20, -0.0, 0.1], "e": "\\u00fc\'\\"\\\\\\n\\t\\u007f\\u2028\\ud83d\\ude00", "f": null, "g": true, "h": {}, "i": []}',
    );
  });

  it.each([
    [new PythonFloat(Number.NaN), "NaN"],
    [new PythonFloat(Number.POSITIVE_INFINITY), "Infinity"],
    [new PythonFloat(Number.NEGATIVE_INFINITY), "-Infinity"],
    [2 ** 60, "1152921504606846976"],
    [new PythonFloat(1e22), "1e+22"],
    [5e-324, "5e-324"],
    [new PythonFloat(1.7976931348623157e308), "1.7976931348623157e+308"],
    [0.000123, "0.000123"],
    [123456789.123, "123456789.123"],
  ])("%s", (value, text) => {
    expect(pythonJsonDumps(value)).toBe(text);
  });

  it("converts mapping keys as Python does", () => {
    const map = new Map<unknown, string>([
      [true, "z"],
      [new PythonFloat(1.5), "y"],
      [null, "n"],
      [2, "two"],
    ]);
    expect(pythonJsonDumps(map)).toBe('{"true": "z", "1.5": "y", "null": "n", "2": "two"}');
  });

  it("indents like json.dumps(indent=2)", () => {
    expect(pythonJsonDumps({ a: [1, { b: [] }], c: {} }, { indent: 2 })).toBe(
      '{\n  "a": [\n    1,\n    {\n      "b": []\n    }\n  ],\n  "c": {}\n}',
    );
  });
});

describe("Python's repr and conversions", () => {
  it.each([
    [1, "1.0"],
    [0.1, "0.1"],
    [1e-5, "1e-05"],
    [0.0001, "0.0001"],
    [1e16, "1e+16"],
    [9999999999999998, "9999999999999998.0"],
    [1.5e300, "1.5e+300"],
    [-2.5e-10, "-2.5e-10"],
    [3, "3.0"],
    [2.99, "2.99"],
    [12345678901234568, "1.2345678901234568e+16"],
    [100, "100.0"],
    [Number.NaN, "nan"],
    [Number.POSITIVE_INFINITY, "inf"],
  ])("repr(float(%s)) = %s", (value, text) => {
    expect(pyFloatRepr(value)).toBe(text);
  });

  it.each([
    ["abc", "'abc'"],
    ["it's", `"it's"`],
    ['say "hi"', `'say "hi"'`],
    [`both ' and "`, `'both \\' and "'`],
    ["a\\b", "'a\\\\b'"],
    ["\n\t\r", "'\\n\\t\\r'"],
    ["\x00\x1f\x7f", "'\\x00\\x1f\\x7f'"],
    ["é", "'é'"],
    ["\u200b", "'\\u200b'"],
    ["\u2028", "'\\u2028'"],
    ["😀", "'😀'"],
    ["\x85", "'\\x85'"],
    ["\xa0", "'\\xa0'"],
  ])("repr(%j) = %s", (value, text) => {
    expect(pyStrRepr(value)).toBe(text);
  });

  it.each([
    ["3.0", 3],
    [" 4 ", 4],
    ["1_0.5", 10.5],
    ["1e3", 1000],
    ["-inf", Number.NEGATIVE_INFINITY],
    [true, 1],
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
});
