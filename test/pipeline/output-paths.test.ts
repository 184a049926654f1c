/** Output path rules beyond the corpus vectors, checked against the reference's results. */
import { describe, expect, it } from "vitest";
import { outputPathProblem } from "../../src/pipeline/outputs.js";

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
