/**
 * The handling order equals the reference's: re-sort the remaining jobs after each one by (running first, jobs
 * started this pass in the job's backend+workspace, database jobs first, oldest first), stably.
 */
import fc from "fast-check";
import { expect, test } from "vitest";
import type { Job } from "../../src/domain/job.js";
import { State, StatusCode } from "../../src/domain/status.js";
import { handlingOrder } from "../../src/scheduler/order.js";
import { makeJob } from "../support/factories.js";

/** The reference's procedure, literally. */
function referenceOrder(jobs: readonly Job[], nowRunning: (job: Job) => boolean): string[] {
  const remaining = jobs.map((job, index) => ({ job, index }));
  const runningFor = new Map<string, number>();
  const order: string[] = [];
  while (remaining.length > 0) {
    const key = (e: { job: Job; index: number }) => [
      e.job.state === State.Running ? 0 : 1,
      runningFor.get(`${e.job.backend}\n${e.job.workspace}`) ?? 0,
      e.job.requiresDb ? 0 : 1,
      e.job.createdAt,
      e.index,
    ];
    remaining.sort((a, b) => {
      const x = key(a);
      const y = key(b);
      for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
      return 0;
    });
    const { job } = remaining.shift()!;
    order.push(job.id);
    if (nowRunning(job)) {
      const k = `${job.backend}\n${job.workspace}`;
      runningFor.set(k, (runningFor.get(k) ?? 0) + 1);
    }
  }
  return order;
}

function ours(jobs: readonly Job[], nowRunning: (job: Job) => boolean): string[] {
  const order: string[] = [];
  const it = handlingOrder(jobs);
  for (let step = it.next(); !step.done; ) {
    order.push(step.value.id);
    step = it.next(nowRunning(step.value));
  }
  return order;
}

const jobArb = fc.record({
  running: fc.boolean(),
  db: fc.boolean(),
  workspace: fc.constantFrom("a", "b", "c"),
  backend: fc.constantFrom("test", "tpp"),
  createdAt: fc.integer({ min: 0, max: 5 }),
  starts: fc.boolean(),
});

test("the same order as the reference's re-sort after every job, for any jobs and outcomes", () => {
  fc.assert(
    fc.property(fc.array(jobArb, { maxLength: 40 }), (specs) => {
      const jobs = specs.map((spec, i) =>
        makeJob({
          action: `a${i}`,
          state: spec.running ? State.Running : State.Pending,
          statusCode: spec.running ? StatusCode.Executing : StatusCode.Created,
          requiresDb: spec.db,
          workspace: spec.workspace,
          backend: spec.backend,
          createdAt: spec.createdAt,
        }),
      );
      const starts = new Map(jobs.map((job, i) => [job.id, specs[i]!.running || specs[i]!.starts]));
      const nowRunning = (job: Job) => starts.get(job.id)!;
      expect(ours(jobs, nowRunning)).toEqual(referenceOrder(jobs, nowRunning));
    }),
    { numRuns: 300 },
  );
});

test("a workspace that just started a job drops behind other workspaces' waiting jobs (fair sharing)", () => {
  const jobs = [
    makeJob({ action: "a1", workspace: "busy", createdAt: 1 }),
    makeJob({ action: "a2", workspace: "busy", createdAt: 2 }),
    makeJob({ action: "b1", workspace: "quiet", createdAt: 3 }),
  ];
  const names = ours(jobs, () => true).map((id) => jobs.find((j) => j.id === id)!.action);
  expect(names).toEqual(["a1", "b1", "a2"]);
});
