/** How a large PostgreSQL rap/status request is divided between statements (src/db/postgres/status-reader.ts): pure. */
import { describe, expect, test } from "vitest";
import { divideByJobs } from "../../src/db/status/divide.js";

describe("divideByJobs", () => {
  const counts = (entries: Record<string, number>) => new Map(Object.entries(entries));

  test("contiguous runs of about as many jobs each, in the request's order", () => {
    expect(divideByJobs(["a", "b", "c", "d", "e"], counts({ a: 1, b: 2, c: 3, d: 4, e: 5 }), 3)).toEqual([
      ["a", "b", "c"],
      ["d"],
      ["e"],
    ]);
    expect(
      divideByJobs(["a", "b", "c", "d", "e"], counts({ a: 2191, b: 2191, c: 2191, d: 2191, e: 2191 }), 2),
    ).toEqual([
      ["a", "b", "c"],
      ["d", "e"],
    ]);
  });

  test("never more runs than asked nor than RAPs; RAPs without jobs go along with their neighbours", () => {
    expect(divideByJobs(["a", "b"], counts({ a: 5000, b: 1 }), 4)).toEqual([["a"], ["b"]]);
    expect(divideByJobs(["a", "x", "b"], counts({ a: 10, b: 10 }), 2)).toEqual([["a"], ["x", "b"]]);
    expect(divideByJobs(["a"], counts({ a: 10 }), 4)).toEqual([["a"]]);
  });
});
