/** Python's fnmatch.fnmatchcase, checked against Python 3. */
import { describe, expect, it } from "vitest";
import { fnmatch, fnmatcher } from "../../src/python/fnmatch.js";

describe("fnmatch", () => {
  it.each([
    ["outputs/a.arrow", "outputs/*.arrow", true],
    ["outputs/sub/a.arrow", "outputs/*.arrow", true],
    ["outputs/a.csv", "outputs/*.arrow", false],
    ["a.csv", "[ab].csv", true],
    ["c.csv", "[!ab].csv", true],
    ["b.csv", "[a-c].csv", true],
    ["b.csv", "[c-a].csv", false],
    ["x", "?", true],
    ["[", "[", true],
    ["a]", "[]]]", false],
    ["A.csv", "a.csv", false],
    ["*.csv", "*.csv", true],
    ["b", "[z-ab]", true],
    ["b.csv", "[z-a].csv", false],
    ["😀", "?", true],
    ["a😀", "a?", true],
    ["x\ny", "x*y", true],
  ])("fnmatch(%j, %j) = %s", (name, pattern, matches) => {
    expect(fnmatch(name, pattern)).toBe(matches);
  });

  // A backtracking matcher would take exponential time here (and hit the test timeout).
  it("matches patterns full of stars without backtracking", () => {
    expect(fnmatch(`${"a".repeat(5000)}b`, `${"*a".repeat(40)}*c`)).toBe(false);
  });

  it("fnmatcher parses once and matches like fnmatch", () => {
    const match = fnmatcher("[!a]*.csv");
    expect(["b.csv", "a.csv", "bb.txt"].map(match)).toEqual([true, false, false]);
  });
});
