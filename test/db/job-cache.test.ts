/** What rap/status keeps of jobs' printed JSON (src/db/status/job-cache.ts): pure. */
import { describe, expect, test } from "vitest";
import { RenderedJobCache } from "../../src/db/status/job-cache.js";

const bytes = (n: number) => new Uint8Array(n);

describe("RenderedJobCache", () => {
  test("a job is kept under its stamp only; rendered again, its newer JSON replaces the old", () => {
    const cache = new RenderedJobCache(1000);
    const json = bytes(10);
    cache.set("1", "100", json);
    expect(cache.get("1", "100")).toBe(json);
    expect(cache.get("1", "101")).toBeUndefined();
    cache.set("1", "101", bytes(20));
    expect(cache.get("1", "100")).toBeUndefined();
    expect(cache.size).toEqual({ jobs: 1, bytes: 20 });
    cache.forget(["1", "2"]);
    expect(cache.size).toEqual({ jobs: 0, bytes: 0 });
  });

  test("past its budget the jobs rendered longest ago go first, down to nine tenths of it", () => {
    const cache = new RenderedJobCache(100);
    for (let n = 1; n <= 10; n++) cache.set(String(n), "s", bytes(10));
    expect(cache.size).toEqual({ jobs: 10, bytes: 100 });
    cache.set("1", "t", bytes(10)); // rendered again: now the newest
    cache.set("11", "s", bytes(10));
    expect(cache.size.bytes).toBeLessThanOrEqual(90);
    expect(cache.get("2", "s")).toBeUndefined();
    expect(cache.get("3", "s")).toBeUndefined();
    expect(cache.get("1", "t")).toBeDefined();
    expect(cache.get("11", "s")).toBeDefined();
    // One larger than the whole budget is not kept at all.
    cache.set("big", "s", bytes(101));
    expect(cache.get("big", "s")).toBeUndefined();
    cache.clear();
    expect(cache.size).toEqual({ jobs: 0, bytes: 0 });
  });
});
