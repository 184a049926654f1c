/** Python's json.dumps, checked against Python 3's output. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { toAsciiJson } from "../../src/python/ascii-json.js";
import { pythonJsonDumps } from "../../src/python/json-dumps.js";
import { orderedObject } from "../../src/python/ordered.js";
import { PythonFloat, PythonOpaque } from "../../src/python/values.js";

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
    [12345678901234567890n, "12345678901234567890"],
    [new PythonOpaque("tag:yaml.org,2002:timestamp", "2020-01-02"), '"2020-01-02"'],
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

describe("ensure_ascii", () => {
  it("escapes what Python escapes, as toAsciiJson does: control characters, DEL and up, lone surrogates", () => {
    expect(toAsciiJson("\u0000\u001f\b\f\u007f\u0080\uffff\ud800😀")).toBe(
      '"\\u0000\\u001f\\b\\f\\u007f\\u0080\\uffff\\ud800\\ud83d\\ude00"',
    );
  });

  it("leaves the text JSON.parse reads back", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (text) => {
        const dumped = pythonJsonDumps(text);
        expect(dumped).toMatch(/^[\x20-\x7e]*$/);
        expect(JSON.parse(dumped)).toBe(text);
      }),
    );
  });
});

it("keeps the order a plain object was built in", () => {
  expect(
    pythonJsonDumps(
      orderedObject([
        ["b", 1],
        ["2020", 2],
      ]),
    ),
  ).toBe('{"b": 1, "2020": 2}');
});
