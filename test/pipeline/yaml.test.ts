/**
 * The YAML loader: YAML 1.2 values as the reference's loader builds them, and its error texts (PyYAML-family
 * wording, with the reference's `(line: N)` after each caret).
 */
import { describe, expect, it } from "vitest";
import {
  loadYaml,
  MAX_ALIAS_EXPANSION,
  MAX_ALIAS_EXPANSION_CHARS,
  MAX_DEPTH,
  YamlError,
} from "../../src/pipeline/yaml/index.js";
import { PythonFloat, PythonOpaque } from "../../src/python/values.js";

function only(text: string): unknown {
  return (loadYaml(`v: ${text}\n`) as Map<string, unknown>).get("v");
}

describe("values", () => {
  it.each([
    ["yes", "yes"],
    ["on", "on"],
    ["No", "No"],
    ["true", true],
    ["FALSE", false],
    ["3", 3],
    ["3.0", new PythonFloat(3)],
    ["3.5", 3.5],
    ["'3.0'", "3.0"],
    ["010", 10],
    ["0o10", 8],
    ["0x1f", 31],
    ["-0b101", -5],
    ["1_000", 1000],
    ["1e3", new PythonFloat(1000)],
    [".5", 0.5],
    ["-.inf", new PythonFloat(Number.NEGATIVE_INFINITY)],
    ["~", null],
    ["null", null],
    ["", null],
    ["_", "_"],
    ["2020-01-01", new PythonOpaque("tag:yaml.org,2002:timestamp", "2020-01-01")],
    ["!!str 3", "3"],
    ["!!int '7'", 7],
    ["<<", new PythonOpaque("tag:yaml.org,2002:merge", "<<")],
    ['"tab\\there \\u00e9 \\x41"', "tab\there é A"],
    ["'it''s'", "it's"],
    ["[a, 'b', {c: d}]", ["a", "b", new Map([["c", "d"]])]],
    ["a # comment", "a"],
    ["a#not a comment", "a#not a comment"],
  ])("%s", (text, value) => {
    expect(only(text)).toEqual(value);
  });

  it("folds multi-line plain and quoted scalars, and keeps block scalars' newlines", () => {
    const data = loadYaml(
      [
        "plain: ehrql:v1 generate-dataset",
        "  --output out.csv",
        "",
        "  after blank",
        "quoted: 'one",
        "  two'",
        "folded: >",
        "  a",
        "  b",
        "",
        "  c",
        "literal: |-",
        "  x",
        "   y",
        "keep: |+",
        "  z",
        "",
        "end: 1",
      ].join("\n"),
    ) as Map<string, unknown>;
    expect(Object.fromEntries(data)).toEqual({
      plain: "ehrql:v1 generate-dataset --output out.csv\nafter blank",
      quoted: "one two",
      folded: "a b\nc\n",
      literal: "x\n y",
      keep: "z\n\n",
      end: 1,
    });
  });

  it("resolves anchors, aliases and merge keys (own keys first, then merged ones)", () => {
    const data = loadYaml("base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\n  z: 4\nsame: *b\n") as Map<
      string,
      Map<string, unknown>
    >;
    expect([...(data.get("use") ?? [])]).toEqual([
      ["y", 3],
      ["z", 4],
      ["x", 1],
    ]);
    expect(data.get("same")).toBe(data.get("base"));
  });

  it("keeps mapping order and non-string keys", () => {
    const data = loadYaml("b: 1\n2017: 2\na: 3\n") as Map<unknown, unknown>;
    expect([...data.keys()]).toEqual(["b", 2017, "a"]);
  });

  it("reads an empty stream as null", () => {
    expect(loadYaml("# nothing here\n")).toBeNull();
  });
});

describe("errors", () => {
  function message(text: string): string {
    try {
      loadYaml(text);
    } catch (error) {
      expect(error).toBeInstanceOf(YamlError);
      return (error as Error).message;
    }
    throw new Error("expected a YAML error");
  }

  it.each([
    [
      "a: *x\n",
      "found undefined alias 'x'\n" +
        '  in "<unicode string>", line 1, column 4:\n    a: *x\n       ^ (line: 1)',
    ],
    [
      "a: 1\n---\nb: 2\n",
      "expected a single document in the stream\n" +
        '  in "<unicode string>", line 1, column 1:\n    a: 1\n    ^ (line: 1)\n' +
        "but found another document\n" +
        '  in "<unicode string>", line 2, column 1:\n    ---\n    ^ (line: 2)',
    ],
    [
      "a: b: c\n",
      'mapping values are not allowed here\n  in "<unicode string>", line 1, column 5:\n    a: b: c\n        ^ (line: 1)',
    ],
    [
      "key: 'unterminated\n",
      "while scanning a quoted scalar\n" +
        '  in "<unicode string>", line 1, column 6:\n    key: \'unterminated\n         ^ (line: 1)\n' +
        'found unexpected end of stream\n  in "<unicode string>", line 2, column 1:\n    \n    ^ (line: 2)',
    ],
    [
      "a:\n  - b\n  c: d\n",
      "while parsing a block collection\n" +
        '  in "<unicode string>", line 2, column 3:\n      - b\n      ^ (line: 2)\n' +
        "expected <block end>, but found '?'\n" +
        '  in "<unicode string>", line 3, column 3:\n      c: d\n      ^ (line: 3)',
    ],
    [
      'a: "bad \\q escape"\n',
      "while scanning a double-quoted scalar\n" +
        '  in "<unicode string>", line 1, column 4:\n    a: "bad \\q escape"\n       ^ (line: 1)\n' +
        "found unknown escape character 'q'\n" +
        '  in "<unicode string>", line 1, column 10:\n    a: "bad \\q escape"\n             ^ (line: 1)',
    ],
    [
      "a: [1, 2\n",
      "while parsing a flow sequence\n" +
        '  in "<unicode string>", line 1, column 4:\n    a: [1, 2\n       ^ (line: 1)\n' +
        "expected ',' or ']', but got '<stream end>'\n" +
        '  in "<unicode string>", line 2, column 1:\n    \n    ^ (line: 2)',
    ],
    [
      "x: \x01\n",
      'unacceptable character #x0001: special characters are not allowed\n  in "<unicode string>", position 3',
    ],
    [
      "a:\tb\n",
      "while scanning for the next token\nfound character '\\t' that cannot start any token\n" +
        '  in "<unicode string>", line 1, column 3:\n    a:\tb\n      ^ (line: 1)',
    ],
    [
      "a: 1\nb: {x: 1, x: 2}\n",
      "while constructing a mapping\n" +
        '  in "<unicode string>", line 2, column 4:\n    b: {x: 1, x: 2}\n       ^ (line: 2)\n' +
        'found duplicate key "x" with value "2" (original value: "1")\n' +
        '  in "<unicode string>", line 2, column 11:\n    b: {x: 1, x: 2}\n              ^ (line: 2)',
    ],
  ])("%j", (text, expected) => {
    expect(message(text)).toBe(expected);
  });

  it("treats 1, 1.0 and true as the same key, as Python does", () => {
    expect(message("1: a\ntrue: b\n")).toContain(
      'found duplicate key "True" with value "b" (original value: "a")',
    );
  });

  it("shortens long source lines around the position", () => {
    const long = `key: ${"x".repeat(50)}: y\n`;
    expect(message(long)).toBe(
      'mapping values are not allowed here\n  in "<unicode string>", line 1, column 56:\n' +
        `     ... ${"x".repeat(32)}: y\n${" ".repeat(41)}^ (line: 1)`,
    );
  });

  it("refuses recursive aliases", () => {
    expect(message("a: &x\n  b: *x\n")).toBe(
      "found recursive alias 'x'\n" +
        '  in "<unicode string>", line 2, column 6:\n      b: *x\n         ^ (line: 2)',
    );
  });

  it("rejects a 'billion laughs' document quickly instead of expanding it", () => {
    const lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
    for (let level = 1; level <= 9; level++) {
      const refs = Array.from({ length: 10 }, () => `*l${level - 1}`).join(", ");
      lines.push(`l${level}: &l${level} [${refs}]`);
    }
    const started = performance.now();
    expect(message(lines.join("\n"))).toContain(
      `found too many alias expansions: aliases expand the document by more than ${MAX_ALIAS_EXPANSION} nodes`,
    );
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it("counts the text aliases repeat: fifty aliases of a 1 MB string are refused", () => {
    const big = "x".repeat(1_000_000);
    const text = `big: &s "${big}"\nl: [${Array.from({ length: 50 }, () => "*s").join(", ")}]\n`;
    expect(message(text)).toContain(
      `found too many alias expansions: aliases expand the document by more than ${MAX_ALIAS_EXPANSION_CHARS} characters of text`,
    );
  });

  it("counts keys and nested values, and accepts text up to the limit", () => {
    const half = "k".repeat(MAX_ALIAS_EXPANSION_CHARS / 4);
    // An explicit key (`? `): plain keys may not be longer than 1024 characters.
    const block = `a: &a\n  ? ${half}\n  : [${half}]\n`;
    expect(loadYaml(`${block}b: [*a, *a]\n`)).toBeInstanceOf(Map);
    expect(message(`${block}b: [*a, *a, *a]\n`)).toContain("characters of text");
  });
});

describe("limits", () => {
  it.each([
    ["flow", `a: ${"[".repeat(100_000)}${"]".repeat(100_000)}`],
    ["block", `a:\n${Array.from({ length: 5000 }, (_, i) => `${" ".repeat(i + 1)}- `).join("\n")}`],
  ])("refuses %s collections nested deeper than the limit, with a YAML error", (_, text) => {
    expect(() => loadYaml(text)).toThrow(YamlError);
    expect(() => loadYaml(text)).toThrow(`found a collection nested more than ${MAX_DEPTH} levels deep`);
  });

  it("accepts nesting up to the limit", () => {
    const depth = MAX_DEPTH - 1;
    expect(loadYaml(`a: ${"[".repeat(depth)}${"]".repeat(depth)}`)).toBeInstanceOf(Map);
  });
});

describe("construction errors", () => {
  function message(text: string): string {
    try {
      loadYaml(text);
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error("expected a YAML error");
  }

  it("reports a syntax error anywhere before a duplicate key, as the reference composes before constructing", () => {
    expect(message("a: {x: 1, x: 2}\nb: [\n")).toBe(
      "while parsing a flow node\nexpected the node content, but found '<stream end>'\n" +
        '  in "<unicode string>", line 3, column 1:\n    \n    ^ (line: 3)',
    );
  });

  it("refuses a standard tag on the wrong kind of node, and keeps custom tags", () => {
    expect(message("v: !!str [a]\n")).toBe(
      'expected a scalar node, but found sequence\n  in "<unicode string>", line 1, column 4:\n    v: !!str [a]\n       ^ (line: 1)',
    );
    expect(loadYaml("v: !foo [a]\n")).toEqual(new Map([["v", ["a"]]]));
  });

  it("refuses an explicitly tagged value that does not convert", () => {
    expect(message("v: !!int abc\n")).toBe(
      "while constructing a scalar\ncannot read 'abc' as the explicitly tagged type tag:yaml.org,2002:int\n" +
        '  in "<unicode string>", line 1, column 4:\n    v: !!int abc\n       ^ (line: 1)',
    );
  });

  it("refuses a merge of something other than mappings", () => {
    expect(message("a: &a [1]\nb:\n  <<: [*a, {x: 1}]\n")).toContain(
      "expected a mapping for merging, but found sequence",
    );
  });
});
