import { expect, test } from "vitest";
import { LogBatcher } from "../../src/agent/log-batcher.js";

/** A clock the test moves by hand. */
function clock() {
  let ms = 0;
  return { now: () => ms, advance: (by: number) => (ms += by) };
}

test("gathers lines into a batch, numbered from the first line, and says when the output ended", () => {
  const time = clock();
  const batcher = new LogBatcher({ maxBatchBytes: 1000, maxBytesPerSecond: 1000 }, time.now);
  expect(batcher.take(false)).toBeNull();
  expect(batcher.add("one")).toBeNull();
  expect(batcher.add("two")).toBeNull();
  expect(batcher.take(false)).toEqual({ first_line: 0, lines: ["one", "two"], dropped: 0, end: false });
  expect(batcher.add("three")).toBeNull();
  expect(batcher.take(true)).toEqual({ first_line: 2, lines: ["three"], dropped: 0, end: true });
});

test("no batch is over LOGS_BATCH_MAX_BYTES: the line that would not fit starts the next", () => {
  const time = clock();
  // Each 10-character line counts 2 × 10 + 4 = 24 bytes.
  const batcher = new LogBatcher({ maxBatchBytes: 50, maxBytesPerSecond: 10_000 }, time.now);
  expect(batcher.add("a".repeat(10))).toBeNull();
  expect(batcher.add("b".repeat(10))).toBeNull();
  expect(batcher.add("c".repeat(10))).toEqual({
    first_line: 0,
    lines: ["a".repeat(10), "b".repeat(10)],
    dropped: 0,
    end: false,
  });
  expect(batcher.take(false)?.lines).toEqual(["c".repeat(10)]);
});

test("lines past LOGS_MAX_BYTES_PER_SECOND are left out and counted, and the rate comes back with time", () => {
  const time = clock();
  const batcher = new LogBatcher({ maxBatchBytes: 10_000, maxBytesPerSecond: 100 }, time.now);
  for (let i = 0; i < 10; i++) batcher.add(`line ${i}.....`); // 2 × 12 + 4 = 28 bytes each: 3 fit in 100
  expect(batcher.take(false)).toEqual({
    first_line: 0,
    lines: ["line 0.....", "line 1.....", "line 2....."],
    dropped: 7,
    end: false,
  });
  time.advance(1000);
  batcher.add("line 10....");
  expect(batcher.take(false)).toEqual({ first_line: 10, lines: ["line 10...."], dropped: 0, end: false });
});
