/** Python's repr() and str(), on both kinds of value: request bodies (bigint ints) and project.yaml's. */
import { describe, expect, test } from "vitest";
import { pyRepr, pyStr, pyStrRepr, reprPrefix } from "../../src/python/repr.js";
import { PythonFloat, PythonOpaque, type PyValue } from "../../src/python/values.js";

describe("pyRepr", () => {
  test.each([
    ["None", null],
    ["True", true],
    ["False", false],
    ["12", 12n],
    ["0", -0n],
    ["12", 12],
    ["1152921504606846976", 2 ** 60],
    ["2.5", 2.5],
    ["1.0", new PythonFloat(1)],
    ["-0.0", new PythonFloat(-0)],
    ["nan", new PythonFloat(Number.NaN)],
    ["-inf", new PythonFloat(Number.NEGATIVE_INFINITY)],
    ["[]", []],
    ["{}", new Map()],
    ["['a', 1, None]", ["a", 1n, null]],
    [
      "{'b': 1, '1': [True]}",
      new Map<PyValue, PyValue>([
        ["b", 1n],
        ["1", [true]],
      ]),
    ],
    ["datetime.date(2020, 1, 2)", new PythonOpaque("tag:yaml.org,2002:timestamp", "2020-01-02")],
    ["'2020-01-02 10:00'", new PythonOpaque("tag:yaml.org,2002:timestamp", "2020-01-02 10:00")],
    ["'x'", new PythonOpaque("!custom", "x")],
  ])("repr gives %s", (expected, value) => {
    expect(pyRepr(value as PyValue)).toBe(expected);
  });

  test("ruamel's mappings print as ordereddict", () => {
    const value = new Map<PyValue, PyValue>([
      ["a", new Map([[1, [new PythonFloat(2)]]])],
      [null, new Map()],
    ]);
    expect(pyRepr(value, "ordereddict")).toBe(
      "ordereddict([('a', ordereddict([(1, [2.0])])), (None, ordereddict())])",
    );
    expect(pyRepr(value)).toBe("{'a': {1: [2.0]}, None: {}}");
  });
});

describe("pyStrRepr", () => {
  test.each([
    ["abc", "'abc'"],
    ["it's", `"it's"`],
    ['say "hi"', `'say "hi"'`],
    [`both ' and "`, `'both \\' and "'`],
    ["a\\b", "'a\\\\b'"],
    ["\n\t\r", "'\\n\\t\\r'"],
    ["\x00\x1f\x7f", "'\\x00\\x1f\\x7f'"],
    ["é", "'é'"],
    ["é😀", "'é😀'"],
    ["\u200b", "'\\u200b'"],
    ["\u2028", "'\\u2028'"],
    ["😀", "'😀'"],
    ["\x85", "'\\x85'"],
    ["\xa0", "'\\xa0'"],
    ["\u00a0\u200b\u2028\ud800", "'\\xa0\\u200b\\u2028\\ud800'"],
    ["\u{e0001}", "'\\U000e0001'"],
  ])("repr(%j) = %s", (value, text) => {
    expect(pyStrRepr(value)).toBe(text);
    expect(pyRepr(value)).toBe(text);
  });
});

describe("pyStr", () => {
  test("strings and opaque scalars print bare, the rest as their repr", () => {
    expect(pyStr("a'b")).toBe("a'b");
    expect(pyStr(new PythonOpaque("tag:yaml.org,2002:timestamp", "2020-01-02"))).toBe("2020-01-02");
    expect(pyStr(new PythonFloat(3))).toBe("3.0");
    expect(pyStr(new Map([["k", "v"]]), "ordereddict")).toBe("ordereddict([('k', 'v')])");
  });
});

describe("reprPrefix", () => {
  const values: PyValue[] = [
    "y".repeat(10_000),
    "\u0001".repeat(1000),
    `${"a".repeat(300)}'`,
    Array(10_000).fill("ab"),
    new Map(Array.from({ length: 1000 }, (_, i) => [`k${i}`, [i, null]] as [PyValue, PyValue])),
  ];

  test.each(values.map((value, i) => [i, value] as const))(
    "value %d: a prefix of the repr, longer than asked",
    (_, value) => {
      for (const mappings of ["dict", "ordereddict"] as const) {
        const prefix = reprPrefix(value, 200, mappings);
        const whole = pyRepr(value, mappings);
        expect(prefix.length).toBeGreaterThan(200);
        expect(prefix.length).toBeLessThan(whole.length);
        // A cut string keeps its own quote, and escaping only lengthens, so the first 200 characters agree.
        expect(prefix.slice(0, 200)).toBe(whole.slice(0, 200));
      }
    },
  );

  test("a short value is its whole repr", () => {
    const value = new Map<PyValue, PyValue>([["a", ["x", 1n, null]]]);
    expect(reprPrefix(value, 200)).toBe(pyRepr(value));
  });
});
