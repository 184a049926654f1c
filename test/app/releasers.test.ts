import { expect, test } from "vitest";
import { Releasers } from "../../src/app/releasers.js";

test("resources are released newest first, and one failing release never stops the others", async () => {
  const releasers = new Releasers();
  const released: string[] = [];
  releasers.add("database", () => released.push("database"));
  releasers.add("http", async () => {
    released.push("http");
    throw new Error("will not close");
  });
  releasers.add("scheduler", async () => released.push("scheduler"));
  const failures: string[] = [];
  expect(await releasers.releaseAll((name) => failures.push(name))).toBe(1);
  expect(released).toEqual(["scheduler", "http", "database"]);
  expect(failures).toEqual(["http"]);
  // Released once: a second close has nothing left to do.
  expect(await releasers.releaseAll(() => {})).toBe(0);
  expect(released).toHaveLength(3);
});
