import { expect, test } from "vitest";
import { backendViews, queueViews, rapGraph, rapSummaries } from "../../src/ops/dashboard-views.js";
import { makeJob } from "../support/factories.js";

const T = 1_700_000_000;

test("a RAP's jobs as a graph: needs as edges, each job's column the longest chain of needs before it", () => {
  const a = makeJob({ id: "a", action: "a", createdAt: T });
  const b = makeJob({ id: "b", action: "b", createdAt: T, waitForJobIds: ["a"] });
  const c = makeJob({ id: "c", action: "c", createdAt: T, waitForJobIds: ["a", "b"] });
  // A need outside the RAP (an earlier RAP's job) draws no edge and adds no depth.
  const d = makeJob({ id: "d", action: "d", createdAt: T, waitForJobIds: ["elsewhere"] });
  const graph = rapGraph([c, d, b, a], T + 10);
  expect(graph.map((node) => [node.id, node.depth, node.needs])).toEqual([
    ["c", 2, ["a", "b"]],
    ["d", 0, ["elsewhere"]],
    ["b", 1, ["a"]],
    ["a", 0, []],
  ]);
});

test("timings: a finished job's duration is its run, a running one's runs to now, a pending one has none", () => {
  const jobs = [
    makeJob({ id: "done", state: "succeeded", startedAt: T, completedAt: T + 42 }),
    makeJob({ id: "running", state: "running", startedAt: T, completedAt: null }),
    makeJob({ id: "waiting", state: "pending", startedAt: null, completedAt: null }),
  ];
  expect(rapGraph(jobs, T + 100).map((node) => [node.id, node.duration])).toEqual([
    ["done", 42],
    ["running", 100],
    ["waiting", null],
  ]);
});

test("backends with their flags, and the queue and running jobs per backend", () => {
  const flags = [
    { backend: "tpp", id: "paused", value: "true", timestamp: 1 },
    { backend: "tpp", id: "mode", value: "db-maintenance", timestamp: 1 },
    { backend: "tpp", id: "last-seen-at", value: "2026-12-06T21:00:00+00:00", timestamp: 1 },
  ];
  const active = [
    makeJob({ id: "r1", backend: "tpp", state: "running" }),
    makeJob({ id: "q1", backend: "tpp", state: "pending" }),
    makeJob({ id: "q2", backend: "test", state: "pending" }),
  ];
  expect(backendViews(["tpp", "test"], flags, active)).toEqual([
    {
      name: "tpp",
      paused: true,
      mode: "db-maintenance",
      last_seen_at: "2026-12-06T21:00:00+00:00",
      flags: { paused: "true", mode: "db-maintenance", "last-seen-at": "2026-12-06T21:00:00+00:00" },
      running: 1,
      queued: 1,
    },
    { name: "test", paused: false, mode: null, last_seen_at: null, flags: {}, running: 0, queued: 1 },
  ]);
  const queues = queueViews(["tpp", "test"], active, T);
  expect(queues.tpp?.running.map((job) => job.id)).toEqual(["r1"]);
  expect(queues.tpp?.queued.map((job) => job.id)).toEqual(["q1"]);
  expect(queues.test?.queued.map((job) => job.id)).toEqual(["q2"]);
});

test("recent RAPs, newest first, with their jobs counted by state", () => {
  const jobs = [
    makeJob({ rapId: "new", state: "running" }),
    makeJob({ rapId: "old", state: "succeeded" }),
    makeJob({ rapId: "new", state: "pending" }),
    makeJob({ rapId: "old", state: "succeeded" }),
  ];
  expect(rapSummaries(jobs).map((rap) => [rap.rap_id, rap.jobs, rap.states])).toEqual([
    ["new", 2, { running: 1, pending: 1 }],
    ["old", 2, { succeeded: 2 }],
  ]);
});
