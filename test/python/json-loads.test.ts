import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { parsePythonJson, toPlain } from "../../src/python/json-loads.js";
import { PythonFloat } from "../../src/python/values.js";

describe("parsing JSON as Python's json.loads does", () => {
  test("ints stay exact, floats stay floats, objects keep their key order", () => {
    const value = parsePythonJson(
      '{"b": 1, "1": 2.0, "c": 2.5, "d": -0.0, "e": 1e2, "a": 123456789012345678901234567890}',
    );
    expect([...(value as Map<string, unknown>)]).toEqual([
      ["b", 1n],
      ["1", new PythonFloat(2)],
      ["c", 2.5],
      ["d", new PythonFloat(-0)],
      ["e", new PythonFloat(100)],
      ["a", 123456789012345678901234567890n],
    ]);
  });

  test("a repeated key keeps its first position and its last value", () => {
    expect([...(parsePythonJson('{"a": 1, "b": 2, "a": 3}') as Map<string, unknown>)]).toEqual([
      ["a", 3n],
      ["b", 2n],
    ]);
  });

  test("Python's NaN and Infinity are accepted, as floats", () => {
    expect(parsePythonJson("[NaN, Infinity, -Infinity]")).toEqual([
      new PythonFloat(Number.NaN),
      new PythonFloat(Infinity),
      new PythonFloat(-Infinity),
    ]);
  });

  test("strings: escapes and surrogate pairs", () => {
    expect(parsePythonJson('"a\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00"')).toBe('a"\\/\b\f\n\r\té😀');
  });

  test.each([
    "",
    " ",
    "foo",
    "{",
    '{"a" 1}',
    '{"a": 1,}',
    "[1,]",
    "01",
    "1.",
    ".5",
    '"\t"',
    '"\\x"',
    '"\\u12"',
    '"abc',
    "{} {}",
    "nul",
    "tru",
    "+1",
    "[".repeat(300) + "]".repeat(300),
  ])("refuses %j", (text) => {
    expect(() => parsePythonJson(text)).toThrow();
  });

  test("agrees with JSON.parse on every JSON text (as plain values)", () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        expect(toPlain(parsePythonJson(text))).toEqual(JSON.parse(text));
      }),
      { numRuns: 500 },
    );
  });
});

describe("integers of more than 4,300 digits are refused, as Python's int() refuses them", () => {
  test.each([
    ["7".repeat(4300), true],
    [`-${"7".repeat(4300)}`, true],
    ["7".repeat(4301), false],
    [`[1, ${"7".repeat(4301)}]`, false],
    [`${"7".repeat(5000)}.5`, true],
  ])("%#", (text, accepted) => {
    if (accepted) expect(() => parsePythonJson(text)).not.toThrow();
    else expect(() => parsePythonJson(text)).toThrow("exceeds the limit of 4300 digits");
  });
});
