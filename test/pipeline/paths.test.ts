/** Path helpers and output path rules, checked against Python's pathlib, posixpath and fnmatch. */
import { describe, expect, it } from "vitest";
import { outputPathProblem } from "../../src/pipeline/outputs.js";
import { fnmatch, normpath, pathParent, pathSuffix, purePosix } from "../../src/pipeline/paths.js";

describe("Python path functions", () => {
  it.each([
    ["a//b", "a/b", "a/b", "a"],
    ["./a", "a", "a", "."],
    ["a/./b", "a/b", "a/b", "a"],
    ["a/../b", "b", "a/../b", "a/.."],
    ["../a", "../a", "../a", ".."],
    ["/../a", "/a", "/../a", "/.."],
    ["//a", "//a", "//a", "//"],
    ["///a", "/a", "/a", "/"],
    ["a/", "a", "a", "."],
    ["", ".", ".", "."],
    ["a/b/..", "a", "a/b/..", "a/b"],
    ["a/../../b", "../b", "a/../../b", "a/../.."],
  ])("%j: normpath %j, PurePosixPath %j, parent %j", (path, normal, pure, parent) => {
    expect(normpath(path)).toBe(normal);
    expect(purePosix(path)).toBe(pure);
    expect(pathParent(path)).toBe(parent);
  });

  it.each([
    ["x.tar.gz", ".gz"],
    [".hidden", ""],
    ["name.", ""],
    ["out/a.csv/", ".csv"],
    ["a..b", ".b"],
    ["*.csv", ".csv"],
  ])("suffix of %j is %j", (path, suffix) => {
    expect(pathSuffix(path)).toBe(suffix);
  });

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
  ])("fnmatch(%j, %j) = %s", (name, pattern, matches) => {
    expect(fnmatch(name, pattern)).toBe(matches);
  });

  it("matches patterns full of stars in linear time", () => {
    const started = performance.now();
    expect(fnmatch(`${"a".repeat(5000)}b`, `${"*a".repeat(40)}*c`)).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe("output path rules beyond the corpus vectors", () => {
  it.each([
    ["c:foo.csv", "highly_sensitive", null],
    ["//server/share/x.csv", "highly_sensitive", "is an absolute path"],
    ["out/a.csv ", "highly_sensitive", null],
    ["out/metadata/a.csv", "highly_sensitive", null],
    ["metadata.csv", "highly_sensitive", null],
    ["a/b/", "highly_sensitive", "output paths must have a file type extension at the end"],
    ["out/a.csv/", "highly_sensitive", "is not in standard form (contains double slashes or '..' elements)"],
    ["a.csv*", "highly_sensitive", "output paths must have a file type extension at the end"],
    ["out/x.CSV", "minimally_sensitive", null],
    ["out/x{1}.csv", "moderately_sensitive", null],
  ] as const)("%j at %s", (pattern, level, problem) => {
    expect(outputPathProblem(pattern, level)).toBe(problem);
  });
});
