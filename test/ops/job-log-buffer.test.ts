import { expect, test } from "vitest";
import { JobLogBuffer } from "../../src/ops/job-log-buffer.js";

const batch = (firstLine: number, lines: string[], extra: { dropped?: number; end?: boolean } = {}) => ({
  firstLine,
  lines,
  dropped: extra.dropped ?? 0,
  end: extra.end ?? false,
});

function buffer(limits: { maxBytesPerJob?: number; maxBytes?: number; retentionMs?: number } = {}) {
  let ms = 0;
  const store = new JobLogBuffer(
    { maxBytesPerJob: 1000, maxBytes: 10_000, retentionMs: 60_000, ...limits },
    () => ms,
  );
  return { store, advance: (by: number) => (ms += by) };
}

test("keeps a job's lines in order and reads from where the reader left off", () => {
  const { store } = buffer();
  store.append("job1", batch(0, ["a", "b"]));
  expect(store.read("job1", 0)).toEqual({ lines: ["a", "b"], next: 2, missed: 0, ended: false });
  store.append("job1", batch(2, ["c"], { end: true }));
  expect(store.read("job1", 2)).toEqual({ lines: ["c"], next: 3, missed: 0, ended: true });
  expect(store.read("other", 0)).toEqual({ lines: [], next: 0, missed: 0, ended: false });
});

test("a batch sent again (the agent restarted and followed from the start) adds only what is new", () => {
  const { store } = buffer();
  store.append("job1", batch(0, ["a", "b"]));
  store.append("job1", batch(0, ["a", "b", "c"]));
  expect(store.read("job1", 0).lines).toEqual(["a", "b", "c"]);
});

test("lines the agent left out are noted where they were", () => {
  const { store } = buffer();
  store.append("job1", batch(0, ["a"]));
  store.append("job1", batch(5, ["f"], { dropped: 4 }));
  expect(store.read("job1", 0).lines).toEqual(["a", "[… 4 lines were left out here …]", "f"]);
});

test("keeps the last LOGS_MAX_BYTES_PER_JOB of a job, and says how many lines a reader missed", () => {
  const { store } = buffer({ maxBytesPerJob: 20 });
  store.append("job1", batch(0, ["123456789", "abcdefghi", "ABCDEFGHI"]));
  expect(store.read("job1", 0)).toEqual({
    lines: ["abcdefghi", "ABCDEFGHI"],
    next: 3,
    missed: 1,
    ended: false,
  });
});

test("LOGS_MAX_BYTES drops the job written longest ago first; LOGS_RETENTION drops a silent job", () => {
  const { store, advance } = buffer({ maxBytes: 25, retentionMs: 1000 });
  store.append("old", batch(0, ["123456789"]));
  store.append("new", batch(0, ["abcdefghi"]));
  store.append("old", batch(1, ["x"]));
  store.append("newest", batch(0, ["ABCDEFGHI"]));
  expect(store.read("new", 0).lines).toEqual([]);
  expect(store.read("old", 0).lines).toEqual(["123456789", "x"]);
  expect(store.bytes).toBeLessThanOrEqual(25);
  advance(1001);
  expect(store.read("old", 0).lines).toEqual([]);
  expect(store.bytes).toBe(0);
});
