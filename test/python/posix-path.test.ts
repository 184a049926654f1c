/** Python's pathlib and posixpath, checked against Python 3. */
import { describe, expect, it } from "vitest";
import { normpath, pathParent, pathSuffix, purePosix } from "../../src/python/posix-path.js";

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
    ["output/a.csv", ".csv"],
    ["output/README", ""],
    ["dir.d/file", ""],
    ["A.CSV", ".CSV"],
    [".hidden", ""],
    ["name.", ""],
    ["out/a.csv/", ".csv"],
    ["a..b", ".b"],
    ["*.csv", ".csv"],
  ])("suffix of %j is %j", (path, suffix) => {
    expect(pathSuffix(path)).toBe(suffix);
  });
});
