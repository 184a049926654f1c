import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { parseBody } from "../../src/http/body.js";
import { BodyNotJsonError } from "../../src/http/errors.js";
import { parsePythonJson, toPlain } from "../../src/http/python-json.js";
import { pythonRepr, reprFloat, shortRepr } from "../../src/http/python-repr.js";

describe("parsing bodies as Python's json.loads does", () => {
  test("ints stay exact, floats stay floats, objects keep their key order", () => {
    const value = parsePythonJson('{"b": 1, "1": 2.0, "a": 123456789012345678901234567890}');
    expect([...(value as Map<string, unknown>)]).toEqual([
      ["b", 1n],
      ["1", 2],
      ["a", 123456789012345678901234567890n],
    ]);
  });

  test("a repeated key keeps its first position and its last value", () => {
    expect([...(parsePythonJson('{"a": 1, "b": 2, "a": 3}') as Map<string, unknown>)]).toEqual([
      ["a", 3n],
      ["b", 2n],
    ]);
  });

  test("Python's NaN and Infinity are accepted", () => {
    expect(parsePythonJson("[NaN, Infinity, -Infinity]")).toEqual([Number.NaN, Infinity, -Infinity]);
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

describe("decoding request bytes", () => {
  test("S010: bytes that are not UTF-8 are a parse error", () => {
    expect(() => parseBody(Buffer.from([0xed]))).toThrow(BodyNotJsonError);
  });

  test("S011: an empty or missing body is a parse error", () => {
    expect(() => parseBody(Buffer.alloc(0))).toThrow(BodyNotJsonError);
    expect(() => parseBody(undefined)).toThrow(BodyNotJsonError);
  });

  test("a UTF-8 byte-order mark is skipped, as Python does for bytes", () => {
    expect(parseBody(Buffer.from("\ufeff[]"))).toEqual([]);
  });
});

describe("Python repr", () => {
  test.each([
    ["None", null],
    ["True", true],
    ["False", false],
    ["12", 12n],
    ["0", -0n],
    ["[]", []],
    ["{}", new Map()],
    ["['a', 1, None]", ["a", 1n, null]],
    [
      "{'b': 1, '1': [True]}",
      new Map<string, unknown>([
        ["b", 1n],
        ["1", [true]],
      ]),
    ],
    ['"it\'s"', "it's"],
    ["'it\\'s \"q\"'", 'it\'s "q"'],
    ["'\\\\\\n\\r\\t\\x01\\x7f'", "\\\n\r\t\u0001\u007f"],
    ["'é😀'", "é😀"],
    ["'\\xa0\\u200b\\u2028\\ud800'", "\u00a0\u200b\u2028\ud800"],
    ["'\\U000e0001'", "\u{e0001}"],
  ])("repr gives %s", (expected, value) => {
    expect(pythonRepr(value as never)).toBe(expected);
  });

  // Expected values printed by CPython 3.11's repr().
  test.each([
    [1, "1.0"],
    [-2.5, "-2.5"],
    [0, "0.0"],
    [-0, "-0.0"],
    [0.1, "0.1"],
    [0.0001, "0.0001"],
    [0.00001, "1e-05"],
    [-2.5e-7, "-2.5e-07"],
    [1e15, "1000000000000000.0"],
    [1234567890123456, "1234567890123456.0"],
    [1e16, "1e+16"],
    [1e22, "1e+22"],
    [1.2345678901234568e17, "1.2345678901234568e+17"],
    [1.7976931348623157e308, "1.7976931348623157e+308"],
    [5e-324, "5e-324"],
    [Number.NaN, "nan"],
    [Infinity, "inf"],
    [-Infinity, "-inf"],
  ])("float %d", (value, expected) => {
    expect(reprFloat(value)).toBe(expected);
  });

  test("a float's repr reads back as the same number", () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (value) => {
        expect(Number(reprFloat(value))).toBe(value);
      }),
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

describe("shortRepr: what an error message may echo of a value", () => {
  test("a short value is its whole repr", () => {
    const value = new Map<string, never>([["a", ["x", 1n, null] as never]]);
    expect(shortRepr(value)).toBe(pythonRepr(value));
  });

  test.each([
    ["a long string", "y".repeat(10_000), `'${"y".repeat(199)}…`],
    ["a string needing escapes", "\u0001".repeat(1000), `'${"\\x01".repeat(49)}\\x0…`],
    ["a long list", Array(10_000).fill("ab"), `[${"'ab', ".repeat(33)}'…`],
    ["a long integer", BigInt("9".repeat(300)), `${"9".repeat(200)}…`],
    [
      "a deep list",
      JSON.parse(`${"[".repeat(150)}${"]".repeat(150)}`),
      `${"[".repeat(150)}${"]".repeat(50)}…`,
    ],
  ])("%s: its first 200 characters, then …", (_, value, expected) => {
    expect(shortRepr(value as never)).toBe(expected);
  });

  test("the quote is chosen from the whole string, as repr chooses it", () => {
    expect(shortRepr(`${"a".repeat(300)}'`)).toBe(`"${"a".repeat(199)}…`);
  });
});
