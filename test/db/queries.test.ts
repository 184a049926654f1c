import { afterEach, beforeEach, describe, expect, test } from "vitest";
import type { Db } from "../../src/db/index.js";
import { getFlag, getFlags, setFlag } from "../../src/db/queries/flags.js";
import {
  actionsOfRap,
  cancelUnfinishedJobs,
  existingRap,
  getJob,
  insertJobs,
  jobsForRaps,
  latestJobByAction,
  listJobs,
  workspaceState,
} from "../../src/db/queries/jobs.js";
import { deactivateTask, getTask, insertTask, recordAgentUpdate } from "../../src/db/queries/tasks.js";
import { jobStates, runJobTasksOf } from "../../src/db/sqlite/scheduler-reads.js";
import type { TaskProgress } from "../../src/db/storage.js";
import { State, StatusCode } from "../../src/domain/status.js";
import { runJobTaskId, TaskType } from "../../src/domain/task.js";
import { cancelRequest } from "../../src/domain/transition.js";
import { openTestDatabase } from "../support/db.js";
import { makeJob, makeRunJobTask, rapId } from "../support/factories.js";

/** Tasks by job, each job's in the order read. */
function byJob(tasks: readonly TaskProgress[]): Map<string, TaskProgress[]> {
  const map = new Map<string, TaskProgress[]>();
  for (const task of tasks) map.set(task.jobId!, [...(map.get(task.jobId!) ?? []), task]);
  return map;
}

let db: Db;
let close: () => Promise<void>;
beforeEach(async () => {
  ({ db, close } = await openTestDatabase());
});
afterEach(async () => close());

describe("flags", () => {
  test("setting the value a flag already has keeps its timestamp (S028)", async () => {
    await setFlag(db, "test", "paused", "true", 1000.5);
    const again = await setFlag(db, "test", "paused", "true", 2000.25);
    expect(again).toEqual({ id: "paused", backend: "test", value: "true", timestamp: 1000.5 });
  });

  test("clearing keeps the row with a NULL value and a new timestamp", async () => {
    await setFlag(db, "test", "paused", "true", 1000);
    expect(await setFlag(db, "test", "paused", null, 2000)).toMatchObject({ value: null, timestamp: 2000 });
    // NULL → NULL is no change either.
    expect(await setFlag(db, "test", "paused", null, 3000)).toMatchObject({ value: null, timestamp: 2000 });
  });

  test("flags are per backend", async () => {
    await setFlag(db, "test", "mode", "db-maintenance", 1);
    await setFlag(db, "other", "foo", "bar", 2);
    expect(await getFlags(db, "test")).toEqual([
      { id: "mode", backend: "test", value: "db-maintenance", timestamp: 1 },
    ]);
    expect(await getFlag(db, "test", "foo")).toBeUndefined();
    expect(await getFlags(db, "other", ["foo", "missing"])).toHaveLength(1);
  });
});

describe("jobs", () => {
  test("jobsForRaps returns every job of the RAPs on the given backends only", async () => {
    const a = rapId();
    const b = rapId();
    await insertJobs(db, [
      makeJob({ rapId: a, action: "one" }),
      makeJob({ rapId: a, action: "two", state: State.Succeeded, statusCode: StatusCode.Succeeded }),
      makeJob({ rapId: b, action: "one", backend: "other" }),
    ]);
    const jobs = await jobsForRaps(db, [a, b, a], ["test"]);
    expect(jobs.map((j) => j.action).sort()).toEqual(["one", "two"]);
    expect(await jobsForRaps(db, [b], ["test", "other"])).toHaveLength(1);
    expect(await jobsForRaps(db, [], ["test"])).toEqual([]);
  });

  test("a job round-trips through the database unchanged", async () => {
    const job = makeJob({
      requiresOutputsFrom: ["a", "b"],
      waitForJobIds: ["x"],
      outputSpec: { highly_sensitive: { data: "output/*.csv" } },
      analysisScope: { dataset_permissions: ["appointments"] },
      requiresDb: true,
      orgs: ["o1", "o2"],
      statusCodeUpdatedAt: 1_700_000_000_123_000_000,
    });
    await insertJobs(db, [job]);
    const [stored] = await jobsForRaps(db, [job.rapId], ["test"]);
    expect(stored).toEqual(job);
  });

  test("many jobs are inserted in batches, full and partial, each row intact", async () => {
    const rap = rapId();
    const jobs = Array.from({ length: 450 }, (_, i) =>
      makeJob({ rapId: rap, action: `action_${i}`, requiresDb: i % 2 === 0, waitForJobIds: [`w${i}`] }),
    );
    await insertJobs(db, jobs);
    await insertJobs(db, [makeJob({ rapId: rap, action: "one_more" })]);
    const stored = await jobsForRaps(db, [rap], ["test"]);
    expect(stored).toHaveLength(451);
    const byAction = new Map(stored.map((j) => [j.action, j]));
    for (const job of jobs) expect(byAction.get(job.action)).toEqual(job);
  });

  test("existingRap reports the first job's repo, workspace, commit and backend and the job count, on any backend", async () => {
    const rap = rapId();
    await insertJobs(db, [
      makeJob({ rapId: rap, action: "a", backend: "other", createdAt: 10 }),
      makeJob({ rapId: rap, action: "b", backend: "other", createdAt: 20, workspace: "later" }),
    ]);
    expect(await existingRap(db, rap)).toEqual({
      repoUrl: "/repo",
      workspace: "workspace",
      commit: "commit",
      backend: "other",
      count: 2,
    });
    expect(await existingRap(db, rapId())).toBeUndefined();
    expect(await actionsOfRap(db, rap, ["other"])).toEqual(new Set(["a", "b"]));
    expect(await actionsOfRap(db, rap, ["test"])).toEqual(new Set());
  });

  test("cancelling marks only unfinished jobs, and only on the given backends (DECISIONS 3)", async () => {
    const rap = rapId();
    await insertJobs(db, [
      makeJob({ rapId: rap, action: "pending" }),
      makeJob({ rapId: rap, action: "running", state: State.Running, statusCode: StatusCode.Executing }),
      makeJob({
        rapId: rap,
        action: "done",
        state: State.Succeeded,
        statusCode: StatusCode.Succeeded,
        completedAt: 5,
      }),
    ]);
    expect(
      await cancelUnfinishedJobs(
        db,
        rap,
        ["pending", "running", "done", "done"],
        ["other"],
        cancelRequest(99),
      ),
    ).toBe(0);
    expect(
      await cancelUnfinishedJobs(
        db,
        rap,
        ["pending", "running", "done", "done"],
        ["test"],
        cancelRequest(99),
      ),
    ).toBe(2);
    const byAction = Object.fromEntries((await jobsForRaps(db, [rap], ["test"])).map((j) => [j.action, j]));
    expect(byAction.pending).toMatchObject({ cancelled: true, completedAt: 99, state: "pending" });
    expect(byAction.running).toMatchObject({ cancelled: true, completedAt: 99, state: "running" });
    expect(byAction.done).toMatchObject({ cancelled: false, completedAt: 5, state: "succeeded" });
  });

  test("listJobs filters by every field given and answers newest first, at most `limit`", async () => {
    const a = rapId();
    const b = rapId();
    await insertJobs(db, [
      makeJob({ rapId: a, action: "old", createdAt: 100 }),
      makeJob({
        rapId: a,
        action: "new",
        createdAt: 200,
        state: State.Running,
        statusCode: StatusCode.Executing,
      }),
      makeJob({ rapId: a, action: "new_too", createdAt: 200 }),
      makeJob({ rapId: b, action: "other", createdAt: 150, workspace: "ws2", backend: "tpp" }),
    ]);
    const actions = (jobs: { action: string }[]) => jobs.map((j) => j.action);
    // Same second: the later insertion first.
    expect(actions(await listJobs(db, { limit: 10 }))).toEqual(["new_too", "new", "other", "old"]);
    expect(actions(await listJobs(db, { limit: 2 }))).toEqual(["new_too", "new"]);
    expect(actions(await listJobs(db, { rapId: a, state: State.Pending, limit: 10 }))).toEqual([
      "new_too",
      "old",
    ]);
    expect(actions(await listJobs(db, { workspace: "ws2", limit: 10 }))).toEqual(["other"]);
    expect(actions(await listJobs(db, { backend: "tpp", rapId: a, limit: 10 }))).toEqual([]);
    const one = makeJob({ rapId: b, action: "one" });
    await insertJobs(db, [one]);
    expect(await getJob(db, one.id)).toEqual(one);
    expect(await getJob(db, "nonexistent")).toBeUndefined();
  });

  test("workspace state: of an action's jobs created in the same second the first inserted wins, whatever its id", async () => {
    const inWorkspace = (id: string, action: string, createdAt: number) =>
      makeJob({ id, action, createdAt, workspace: "ws" });
    await insertJobs(db, [
      inWorkspace("zzzzzzzzzzzzzzzz", "analyse", 100),
      inWorkspace("aaaaaaaaaaaaaaaa", "analyse", 100),
      inWorkspace("mmmmmmmmmmmmmmmm", "prepare", 50),
      inWorkspace("bbbbbbbbbbbbbbbb", "prepare", 60),
    ]);
    const state = await workspaceState(db, "test", "ws");
    expect(state.map((job) => [job.action, job.id])).toEqual([
      ["analyse", "zzzzzzzzzzzzzzzz"],
      ["prepare", "bbbbbbbbbbbbbbbb"],
    ]);
    expect(await latestJobByAction(db, "test", "ws", ["analyse", "prepare", "report"])).toEqual(
      new Map([
        ["analyse", "zzzzzzzzzzzzzzzz"],
        ["prepare", "bbbbbbbbbbbbbbbb"],
      ]),
    );
    // Only the actions asked for.
    expect(await latestJobByAction(db, "test", "ws", ["prepare"])).toEqual(
      new Map([["prepare", "bbbbbbbbbbbbbbbb"]]),
    );
    expect(await latestJobByAction(db, "test", "ws", [])).toEqual(new Map());
  });
});

describe("tasks", () => {
  test("a job's RUNJOB tasks come in creation order, beyond 999 too, without its CANCELJOB tasks", async () => {
    const rap = rapId();
    const job = makeJob({ rapId: rap });
    const other = makeJob({ rapId: rap, action: "other" });
    await insertJobs(db, [job, other]);
    const task = (n: number, jobId = job.id) => makeRunJobTask(jobId, n);
    await insertTask(db, task(999));
    await insertTask(db, task(1000));
    await insertTask(db, task(1, other.id));
    await insertTask(db, { ...task(0), id: `${job.id}-001-cancel`, type: TaskType.CancelJob });
    await recordAgentUpdate(
      db,
      "test",
      runJobTaskId(job.id, 999),
      { stage: "executing", results: { job_metrics: { old: 1 } }, complete: false, timestampNs: null },
      5,
    );
    await recordAgentUpdate(
      db,
      "test",
      runJobTaskId(job.id, 1000),
      { stage: "finalized", results: { job_metrics: { cpu_peak: 12.5 } }, complete: true, timestampNs: 7 },
      5,
    );
    await recordAgentUpdate(
      db,
      "test",
      runJobTaskId(other.id, 1),
      { stage: "executing", results: {}, complete: false, timestampNs: null },
      5,
    );

    const tasks = byJob(await runJobTasksOf(db, [job.id, other.id]));
    expect(tasks.get(job.id)!.map((t) => t.id)).toEqual([
      runJobTaskId(job.id, 999),
      runJobTaskId(job.id, 1000),
    ]);
    expect(tasks.get(job.id)!.at(-1)).toMatchObject({
      agentStage: "finalized",
      agentComplete: true,
      active: false,
      finishedAt: 5,
      agentTimestampNs: 7,
      agentResults: { job_metrics: { cpu_peak: 12.5 } },
    });
    expect(tasks.get(other.id)!.map((t) => t.id)).toEqual([runJobTaskId(other.id, 1)]);
  });

  test("the states of any number of jobs, in one read; ids that do not exist are absent", async () => {
    const jobs = Array.from({ length: 700 }, (_, i) =>
      makeJob(i % 2 === 0 ? {} : { state: State.Succeeded, statusCode: StatusCode.Succeeded }),
    );
    await insertJobs(db, jobs);
    const states = await jobStates(db, [...jobs.map((job) => job.id), "nosuchjob", jobs[0]!.id]);
    expect(states.size).toBe(700);
    expect(states.get(jobs[0]!.id)).toBe(State.Pending);
    expect(states.get(jobs[699]!.id)).toBe(State.Succeeded);
    expect(states.has("nosuchjob")).toBe(false);
    expect((await jobStates(db, [])).size).toBe(0);
  });

  test("RUNJOB tasks of more jobs than one statement has placeholders for are all found", async () => {
    const jobs = Array.from({ length: 1200 }, () => makeJob());
    await insertJobs(db, jobs);
    for (const job of jobs.slice(0, 1100))
      await insertTask(db, makeRunJobTask(job.id, 1, { definition: { id: job.id } }));
    const tasks = byJob(
      await runJobTasksOf(db, [...jobs.map((job) => job.id), ...jobs.map((job) => job.id)]),
    );
    expect(tasks.size).toBe(1100);
    expect(tasks.get(jobs[1099]!.id)!.map((t) => t.id)).toEqual([runJobTaskId(jobs[1099]!.id, 1)]);
    expect(tasks.has(jobs[1100]!.id)).toBe(false);
  });

  test("an update is recorded only for a task of the reporting backend, and never re-activates a task", async () => {
    const job = makeJob();
    await insertJobs(db, [job]);
    const id = runJobTaskId(job.id, 1);
    await insertTask(db, makeRunJobTask(job.id));
    const update = { stage: "executing", results: {}, complete: false, timestampNs: null };
    expect(await recordAgentUpdate(db, "other", id, update, 2)).toBe(false);
    expect(await deactivateTask(db, id, 3)).toBe(true);
    expect(await deactivateTask(db, id, 4)).toBe(false);
    expect(await recordAgentUpdate(db, "test", id, update, 5)).toBe(true);
    expect(await getTask(db, id)).toMatchObject({ active: false, finishedAt: 3, agentStage: "executing" });
  });

  test("an agent update for an unknown task changes nothing", async () => {
    expect(
      await recordAgentUpdate(
        db,
        "test",
        "nope-001",
        { stage: "x", results: {}, complete: true, timestampNs: null },
        1,
      ),
    ).toBe(false);
  });
});
