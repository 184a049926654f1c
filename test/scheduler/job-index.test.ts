/** The active jobs' indexes (src/scheduler/job-index.ts): kept right as jobs are read again and leave. */
import { expect, it } from "vitest";
import { State, StatusCode } from "../../src/domain/status.js";
import { JobIndex } from "../../src/scheduler/job-index.js";
import { pendingJob } from "../support/factories.js";

it("indexes each job as last read, and forgets all of it when the job leaves", () => {
  const index = new JobIndex();
  index.set(pendingJob("b", { statusCode: StatusCode.WaitingOnWorkers, waitForJobIds: ["a"] }), 2);
  index.set(pendingJob("a", { state: State.Running, statusCode: StatusCode.Executing }), 1);
  expect(index.jobs.map((j) => j.id)).toEqual(["a", "b"]);
  expect([...index.dependantsOf("a")]).toEqual(["b"]);
  expect([...index.waitingForWorkersOn("tpp")]).toEqual(["b"]);
  expect([...index.runningIn("tpp\nw")]).toEqual(["a"]);
  expect([...index.runningBackends()]).toEqual(["tpp"]);

  // Read again, started: no longer waiting for a worker, running now.
  index.set(
    pendingJob("b", { state: State.Running, statusCode: StatusCode.Initiated, waitForJobIds: ["a"] }),
    2,
  );
  expect([...index.waitingForWorkersOn("tpp")]).toEqual([]);
  expect([...index.runningIn("tpp\nw")].sort()).toEqual(["a", "b"]);
  expect(index.inInsertionOrder(["b", "gone", "a"]).map((j) => j.id)).toEqual(["a", "b"]);

  // A job changed in place by a pass and then gone: every index is cleared whatever its fields say now.
  const b = index.job("b")!;
  Object.assign(b, { state: State.Succeeded, statusCode: StatusCode.Succeeded });
  index.delete("b");
  index.delete("a");
  expect(index.size).toBe(0);
  expect([...index.dependantsOf("a")]).toEqual([]);
  expect([...index.runningBackends()]).toEqual([]);
  expect([...index.jobsOf("tpp")]).toEqual([]);
});
