/** Which jobs a pass handles (src/scheduler/affected.ts): each rule on its own, as a table. */
import { describe, expect, it } from "vitest";
import type { TaskProgress } from "../../src/db/storage.js";
import type { Job } from "../../src/domain/job.js";
import { State, StatusCode } from "../../src/domain/status.js";
import { affectedJobs, changedBackends } from "../../src/scheduler/affected.js";
import { JobIndex } from "../../src/scheduler/job-index.js";
import { pendingJob } from "../support/factories.js";

const running = pendingJob("running", { state: State.Running, statusCode: StatusCode.Executing });
const waitsOnRunning = pendingJob("dependant", {
  waitForJobIds: ["running"],
  statusCode: StatusCode.WaitingOnDependencies,
});
const waitingForWorker = pendingJob("queued", { statusCode: StatusCode.WaitingOnWorkers });
const elsewhere = pendingJob("elsewhere", { backend: "emis", statusCode: StatusCode.WaitingOnWorkers });
const jobs = [running, waitsOnRunning, waitingForWorker, elsewhere];

const index = new JobIndex();
for (const [seq, j] of jobs.entries()) index.set(j, seq);

const ids = (selected: readonly Job[]) => selected.map((j) => j.id);
const tasks = new Map([["running", { active: true, agentComplete: false }]]);
const none = {
  index,
  written: new Map<string, string>(),
  changedBackends: new Set<string>(),
  due: [] as Job[],
  latestTask: (j: Job) => tasks.get(j.id) as TaskProgress | undefined,
};

describe("affectedJobs", () => {
  it.each([
    ["nothing written, changed or due: no job", none, []],
    [
      "a running job written (its agent reported a stage): it and the jobs waiting on it",
      { ...none, written: new Map([["running", "tpp"]]) },
      ["running", "dependant"],
    ],
    [
      "a running job whose task completed: also those waiting for a worker on its backend",
      {
        ...none,
        written: new Map([["running", "tpp"]]),
        latestTask: () => ({ active: false, agentComplete: true }) as TaskProgress,
      },
      ["running", "dependant", "queued"],
    ],
    [
      "a pending job written: it, and those waiting for a worker beside it (it may have stopped running)",
      { ...none, written: new Map([["queued", "tpp"]]) },
      ["queued"],
    ],
    [
      "a finished job (no longer active) written: the same, from its backend",
      { ...none, written: new Map([["gone", "emis"]]) },
      ["elsewhere"],
    ],
    [
      "a backend's flags or agent changed: every job of it",
      { ...none, changedBackends: new Set(["emis"]) },
      ["elsewhere"],
    ],
    [
      "a job due (its heartbeat, its task's silence): it, and those waiting for a worker where it may free one",
      { ...none, due: [running] },
      ["running", "queued"],
    ],
  ])("%s", (_, input, expected) => {
    expect(ids(affectedJobs(input).jobs)).toEqual(expected);
  });

  it("counts the running jobs it leaves out, by workspace, for the handling order", () => {
    // The dependant is handled; the running job of its workspace is not, and counts for it.
    const { runningElsewhere } = affectedJobs({
      ...none,
      written: new Map([
        ["gone", "emis"],
        ["dependant", "tpp"],
      ]),
    });
    expect(runningElsewhere).toEqual(
      new Map([
        ["tpp\nw", 1],
        ["emis\nw", 0],
      ]),
    );
  });

  it("tells which backends' inputs changed since the last pass (all, for the first)", () => {
    const now = new Map([
      ["tpp", "false:false:10"],
      ["emis", "true:false:10"],
    ]);
    expect(changedBackends(undefined, now)).toEqual(new Set(["tpp", "emis"]));
    expect(changedBackends(new Map([...now, ["emis", "false:false:10"]]), now)).toEqual(new Set(["emis"]));
  });
});
