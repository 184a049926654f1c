import { describe, expect, test } from "vitest";
import { globEntries, type VolumeEntry } from "../../src/agent/workspace/glob.js";

const files = [
  "a.csv",
  ".hidden.csv",
  "output/b.csv",
  "output/B.CSV",
  "output/c.txt",
  "output/extra/dataset.csv",
  "output/.dot/d.csv",
  "ehrql-male.csv",
  "ehrql-qu'ote.csv",
  "x[1].csv",
  "x1.csv",
];
const entries: VolumeEntry[] = [
  ...files.map((path) => ({ path, dir: false })),
  { path: "output", dir: true },
  { path: "output/extra", dir: true },
  { path: "output/.dot", dir: true },
];

describe("globEntries: Python 3.12 pathlib semantics", () => {
  test.each<[string, string[]]>([
    ["output/*.csv", ["output/b.csv"]],
    ["*.csv", ["a.csv", ".hidden.csv", "ehrql-male.csv", "ehrql-qu'ote.csv", "x[1].csv", "x1.csv"]],
    ["output/*", ["output/b.csv", "output/B.CSV", "output/c.txt"]],
    ["**/*.csv", files.filter((f) => f.endsWith(".csv"))],
    ["output/**/*.csv", ["output/b.csv", "output/extra/dataset.csv", "output/.dot/d.csv"]],
    ["output/**", []],
    ["output/", []],
    ["output", []],
    ["output/extra/dataset.csv", ["output/extra/dataset.csv"]],
    ["./output//b.csv", ["output/b.csv"]],
    ["ehrql-male*.csv", ["ehrql-male.csv"]],
    ["ehrql-qu'ote.csv", ["ehrql-qu'ote.csv"]],
    ["output/?.csv", ["output/b.csv"]],
    ["output/[bc].*", ["output/b.csv", "output/c.txt"]],
    ["output/[!b].*", ["output/B.CSV", "output/c.txt"]],
    ["x[1].csv", ["x1.csv"]],
    ["x[[]1].csv", ["x[1].csv"]],
    ["x[1.csv", []],
    ["*/*.csv", ["output/b.csv"]],
    ["out**/b.csv", []],
    ["", []],
    ["missing/*.csv", []],
    ["output/[z-a].csv", []],
    // Python drops a reversed range and keeps the rest of the set.
    ["output/[z-ab].csv", ["output/b.csv"]],
  ])("%j", (pattern, expected) => {
    expect(globEntries(pattern, entries).map((entry) => entry.path)).toEqual(expected);
  });
});
