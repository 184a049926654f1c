/** While the database's disk is full, scheduler passes back off (issue 14 item 4), pure. */
import { expect, test } from "vitest";
import { storageFullDelayMs } from "../../src/scheduler/scheduler.js";

test.each([
  [0, 1000, 1000],
  [0, 5000, 5000],
  [1, 1000, 2000],
  [2, 1000, 4000],
  [5, 1000, 32_000],
  [6, 1000, 60_000],
  [1000, 1000, 60_000],
  // JOB_LOOP_INTERVAL=0 (back to back) still waits while full.
  [1, 0, 2000],
])("after %i full passes with an interval of %i ms: %i ms", (passes, interval, delay) => {
  expect(storageFullDelayMs(passes, interval)).toBe(delay);
});
