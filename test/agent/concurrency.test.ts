/** mapConcurrently: the bounded parallelism of copying and hashing a job's many input and output files. */
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, test } from "vitest";
import { mapConcurrently } from "../../src/agent/workspace/files.js";

describe("mapConcurrently", () => {
  test("returns the results in the items' order, with at most `limit` tasks in flight", async () => {
    let inFlight = 0;
    let most = 0;
    const items = Array.from({ length: 50 }, (_, i) => i);
    const results = await mapConcurrently(items, 4, async (i) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      // Later items finish first, so completion order differs from item order.
      await sleep((50 - i) % 7);
      inFlight -= 1;
      return i * 2;
    });
    expect(results).toEqual(items.map((i) => i * 2));
    expect(most).toBe(4);
  });

  test("an empty list needs no task", async () => {
    expect(await mapConcurrently([], 4, async () => 1)).toEqual([]);
  });

  test("after a failure no new task starts, and the earliest item's failure is thrown", async () => {
    const started: number[] = [];
    const failing = mapConcurrently(
      Array.from({ length: 20 }, (_, i) => i),
      3,
      async (i) => {
        started.push(i);
        await sleep(i === 1 ? 5 : 1);
        if (i === 1 || i === 2) throw new Error(`item ${i}`);
        return i;
      },
    );
    await expect(failing).rejects.toThrow("item 1");
    expect(started.length).toBeLessThan(20);
  });
});
