/** Shell words: tables checked against Python's shlex, and properties over generated strings. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ShellSyntaxError, shlexJoin, shlexQuote, shlexSplit } from "../../src/pipeline/index.js";

describe("shlexSplit gives Python's shlex.split result", () => {
  it.each([
    ["python:v2 python a.py", ["python:v2", "python", "a.py"]],
    ['a "b c" d', ["a", "b c", "d"]],
    ["a 'b c' d", ["a", "b c", "d"]],
    ["a\\ b", ["a b"]],
    ['"a\\"b"', ['a"b']],
    ["'a\\b'", ["a\\b"]],
    ['"a\\b"', ["a\\b"]],
    ["x#y #z", ["x#y", "#z"]],
    ["a ''", ["a", ""]],
    ['""', [""]],
    ["a\tb\nc\rd", ["a", "b", "c", "d"]],
    ['a"b"c', ["abc"]],
    ['"$HOME" \\$x', ["$HOME", "$x"]],
    ["ünïcode  \u00a0x", ["ünïcode", "\u00a0x"]],
    ["a\\\nb", ["a\nb"]],
    ["  leading and trailing  ", ["leading", "and", "trailing"]],
    ["", []],
  ])("%j", (input, words) => {
    expect(shlexSplit(input)).toEqual(words);
  });

  it.each([
    ['python "unclosed.py', "No closing quotation"],
    ["python 'unclosed.py", "No closing quotation"],
    ["trailing\\", "No escaped character"],
    ['"ends in escape\\', "No escaped character"],
  ])("%j is refused with a typed error", (input, message) => {
    expect(() => shlexSplit(input)).toThrow(ShellSyntaxError);
    expect(() => shlexSplit(input)).toThrow(message);
  });
});

describe("shlexQuote and shlexJoin give Python's shlex.quote and shlex.join results", () => {
  it.each([
    ["", "''"],
    ["abc", "abc"],
    ["a b", "'a b'"],
    ["it's", `'it'"'"'s'`],
    ["a@b%c+d=e:f,g./-h", "a@b%c+d=e:f,g./-h"],
    ["ü", "'ü'"],
    ["$x", "'$x'"],
    ["a\nb", "'a\nb'"],
    ["*", "'*'"],
    ['{"a": 1}', `'{"a": 1}'`],
  ])("quote(%j) = %s", (input, quoted) => {
    expect(shlexQuote(input)).toBe(quoted);
  });

  it("joins words", () => {
    expect(shlexJoin(["python:v2", "x.py", "qu'ote.csv", ""])).toBe(`python:v2 x.py 'qu'"'"'ote.csv' ''`);
  });
});

describe("properties", () => {
  const anyString = fc.string({ unit: "binary", maxLength: 40 });
  const shellish = fc.string({
    unit: fc.constantFrom("a", "Z", "0", " ", "\t", "\n", "'", '"', "\\", "#", "$", "*", "=", "-", "é"),
    maxLength: 30,
  });

  it("split(join(words)) gives the words back", () => {
    fc.assert(
      fc.property(fc.array(anyString, { maxLength: 8 }), (words) => {
        expect(shlexSplit(shlexJoin(words))).toEqual(words);
      }),
    );
  });

  it("a quoted string is one word, and is bare exactly when it only has safe characters", () => {
    fc.assert(
      fc.property(anyString, (s) => {
        expect(shlexSplit(shlexQuote(s))).toEqual([s]);
        expect(shlexQuote(s) === s).toBe(s !== "" && /^[A-Za-z0-9_@%+=:,./-]+$/.test(s));
      }),
    );
  });

  it("splitting either gives words without separators or throws the typed error", () => {
    fc.assert(
      fc.property(shellish, (s) => {
        try {
          const words = shlexSplit(s);
          // Re-joining and splitting again is stable.
          expect(shlexSplit(shlexJoin(words))).toEqual(words);
        } catch (error) {
          expect(error).toBeInstanceOf(ShellSyntaxError);
        }
      }),
    );
  });

  it("words that need no quoting split on whitespace only", () => {
    const safeWord = fc.stringMatching(/^[A-Za-z0-9_@%+=:,./-]{1,12}$/);
    fc.assert(
      fc.property(fc.array(safeWord, { minLength: 1, maxLength: 6 }), (words) => {
        expect(shlexSplit(words.join(" \t "))).toEqual(words);
      }),
    );
  });
});
