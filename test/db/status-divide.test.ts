/** How a large rap/status render is divided (src/db/status/divide.ts): pure. */
import { describe, expect, test } from "vitest";
import { divideJobs } from "../../src/db/status/divide.js";

describe("divideJobs", () => {
  const ids = (n: number) => Array.from({ length: n }, (_, i) => `j${i}`);

  test("contiguous runs of as many jobs each (within one), in order, every job once", () => {
    const runs = divideJobs(ids(10), 3);
    expect(runs.map((run) => run.length)).toEqual([3, 4, 3]);
    expect(runs.flat()).toEqual(ids(10));
    expect(divideJobs(ids(2191 * 5), 2).map((run) => run.length)).toEqual([5478, 5477]);
  });

  test("never more runs than asked nor than jobs, and at least one", () => {
    expect(divideJobs(ids(2), 4)).toEqual([["j0"], ["j1"]]);
    expect(divideJobs(ids(5), 1)).toEqual([ids(5)]);
    expect(divideJobs([], 4)).toEqual([[]]);
  });
});
