import { setFlagsFromString } from "node:v8";
import { describe, expect, test } from "vitest";
import { deterministicJobId } from "../../src/domain/ids.js";
import type { Job } from "../../src/domain/job.js";
import { State, StatusCode } from "../../src/domain/status.js";
import { NothingToDoError, UnknownActionError } from "../../src/jobs/errors.js";
import { planNewJobs } from "../../src/jobs/plan.js";
import { plannable } from "../../src/jobs/plannable.js";
import type { CreateRequest } from "../../src/jobs/request.js";
import { parseProject } from "../../src/pipeline/index.js";
import { makeJob } from "../support/factories.js";
import { FX_TP, FX_TP_S } from "./fixtures.js";

const NOW_MS = 1_700_000_000_500;
const context = { now: () => NOW_MS, newTraceContext: () => ({ traceparent: "00-aa-bb-01" }) };

function request(overrides: Partial<CreateRequest> = {}): CreateRequest {
  return {
    rapId: "rapaaaaaaaaaaaa2",
    backend: "test",
    workspace: "workspace",
    repoUrl: "/repo",
    branch: "main",
    commit: "c".repeat(40),
    databaseName: "default",
    requestedActions: ["analyse_data"],
    codelistsOk: true,
    forceRunDependencies: false,
    createdBy: "user",
    project: "project",
    orgs: ["org"],
    analysisScope: {},
    ...overrides,
  };
}

/** An existing job of an earlier RAP in the same workspace. */
function existing(action: string, state: State, overrides: Partial<Job> = {}): Job {
  const statusCode = {
    pending: StatusCode.Created,
    running: StatusCode.Executing,
    succeeded: StatusCode.Succeeded,
    failed: StatusCode.NonzeroExit,
  }[state];
  return makeJob({ rapId: "earlierrap000001", action, state, statusCode, ...overrides });
}

const tp = parseProject(FX_TP);
const plan = (req: CreateRequest, state: Job[] = [], pipeline = tp) =>
  planNewJobs(req, plannable(pipeline), state, context);
const actions = (jobs: Job[]) => jobs.map((j) => j.action);

describe("planNewJobs", () => {
  test("dependencies are pulled in, each waiting on the jobs it needs (§11.30, S079)", () => {
    const jobs = plan(request());
    expect(actions(jobs)).toEqual(["generate_dataset", "prepare_data_1", "prepare_data_2", "analyse_data"]);
    const id = (action: string) => deterministicJobId("rapaaaaaaaaaaaa2", action);
    expect(jobs.map((j) => j.waitForJobIds)).toEqual([
      [],
      [id("generate_dataset")],
      [id("generate_dataset")],
      [id("prepare_data_1"), id("prepare_data_2")],
    ]);
    expect(jobs[3]!.requiresOutputsFrom).toEqual(["prepare_data_1", "prepare_data_2"]);
  });

  test("a new job is pending/created with the request's fields and the action's spec", () => {
    const [generate, prepare] = plan(request({ requestedActions: ["prepare_data_1"] }));
    expect(generate).toMatchObject({
      id: deterministicJobId("rapaaaaaaaaaaaa2", "generate_dataset"),
      state: "pending",
      statusCode: "created",
      statusMessage: "Created",
      createdAt: 1_700_000_000,
      updatedAt: 1_700_000_000,
      statusCodeUpdatedAt: NOW_MS * 1_000_000,
      startedAt: null,
      completedAt: null,
      cancelled: false,
      runCommand: "ehrql:v1 generate-dataset analysis/dataset_definition.py --output output.csv.gz",
      outputSpec: { highly_sensitive: { cohort: "output.csv.gz" } },
      requiresDb: true,
      analysisScope: { dataset_permissions: [] },
      user: "user",
      project: "project",
      orgs: ["org"],
      branch: "main",
      traceContext: { traceparent: "00-aa-bb-01" },
    });
    expect(prepare).toMatchObject({
      requiresDb: false,
      analysisScope: {},
      runCommand: "stata-mp:latest analysis/prepare_data_1.do",
    });
  });

  test("pending and running jobs are reused and waited on (§11.31, S080)", () => {
    const prep1 = existing("prepare_data_1", State.Running);
    const generate = existing("generate_dataset", State.Pending);
    const jobs = plan(request(), [generate, prep1]);
    expect(actions(jobs)).toEqual(["prepare_data_2", "analyse_data"]);
    expect(jobs[0]!.waitForJobIds).toEqual([generate.id]);
    expect(jobs[1]!.waitForJobIds).toEqual([prep1.id, jobs[0]!.id]);
  });

  test("succeeded dependencies are neither rerun nor waited on (§11.33, S082)", () => {
    const jobs = plan(request({ requestedActions: ["prepare_data_2"] }), [
      existing("generate_dataset", State.Succeeded),
    ]);
    expect(actions(jobs)).toEqual(["prepare_data_2"]);
    expect(jobs[0]!.waitForJobIds).toEqual([]);
  });

  test("an explicitly requested succeeded action is rerun, its succeeded dependency is not (S084)", () => {
    const state = [
      existing("generate_dataset", State.Succeeded),
      existing("prepare_data_1", State.Succeeded),
    ];
    expect(actions(plan(request({ requestedActions: ["prepare_data_1"] }), state))).toEqual([
      "prepare_data_1",
    ]);
  });

  test("force_run_dependencies reruns succeeded dependencies too (S085)", () => {
    const state = [
      existing("generate_dataset", State.Succeeded),
      existing("prepare_data_1", State.Succeeded),
    ];
    const jobs = plan(request({ requestedActions: ["prepare_data_1"], forceRunDependencies: true }), state);
    expect(actions(jobs)).toEqual(["generate_dataset", "prepare_data_1"]);
  });

  test("failed dependencies are rerun without force (S086)", () => {
    const state = [existing("generate_dataset", State.Failed), existing("prepare_data_1", State.Succeeded)];
    expect(actions(plan(request({ requestedActions: ["prepare_data_1"] }), state))).toEqual([
      "generate_dataset",
      "prepare_data_1",
    ]);
  });

  test("reruns keep their action's place in the workspace state; new actions follow in creation order", () => {
    // Workspace state is in action-name order: analyse_data, generate_dataset, prepare_data_1.
    const state = [
      existing("analyse_data", State.Failed),
      existing("generate_dataset", State.Failed),
      existing("prepare_data_1", State.Succeeded),
    ];
    expect(actions(plan(request(), state))).toEqual(["analyse_data", "generate_dataset", "prepare_data_2"]);
  });

  test("all requested actions already scheduled → Nothing to do (S087)", () => {
    const state = [existing("analyse_data", State.Pending)];
    expect(() => plan(request(), state)).toThrow(
      new NothingToDoError("All requested actions were already scheduled to run"),
    );
  });

  test("run_all visits every action; nothing new → 'All actions have already completed successfully' (S067, S068)", () => {
    expect(actions(plan(request({ requestedActions: ["run_all"] })))).toEqual([
      "generate_dataset",
      "prepare_data_1",
      "prepare_data_2",
      "analyse_data",
    ]);
    const allDone = ["analyse_data", "generate_dataset", "prepare_data_1", "prepare_data_2"].map((a) =>
      existing(a, State.Succeeded),
    );
    expect(() => plan(request({ requestedActions: ["run_all"] }), allDone)).toThrow(
      new NothingToDoError("All actions have already completed successfully"),
    );
    const allPending = allDone.map((j) => ({ ...j, state: State.Pending }));
    expect(() => plan(request({ requestedActions: ["run_all"] }), allPending)).toThrow(
      "All actions have already completed successfully",
    );
  });

  test("run_all reruns only failed actions, since nothing is explicitly requested (S069)", () => {
    const state = [
      existing("analyse_data", State.Failed),
      existing("generate_dataset", State.Succeeded),
      existing("prepare_data_1", State.Succeeded),
      existing("prepare_data_2", State.Succeeded),
    ];
    expect(actions(plan(request({ requestedActions: ["run_all"] }), state))).toEqual(["analyse_data"]);
  });

  test("failed jobs of actions no longer in project.yaml are ignored (S088)", () => {
    const state = [
      existing("analyse_data", State.Succeeded),
      existing("generate_dataset", State.Succeeded),
      existing("obsolete_action", State.Failed),
      existing("prepare_data_1", State.Succeeded),
      existing("prepare_data_2", State.Succeeded),
    ];
    expect(() => plan(request({ requestedActions: ["run_all"] }), state)).toThrow(NothingToDoError);
  });

  test("an unknown action is a project validation error (S072)", () => {
    expect(() => plan(request({ requestedActions: ["does_not_exist"] }))).toThrow(
      new UnknownActionError("Action 'does_not_exist' not found in project.yaml"),
    );
  });

  test("a standalone action needs nothing else (S073 third row)", () => {
    const jobs = plan(request({ requestedActions: ["standalone_action"] }), [], parseProject(FX_TP_S));
    expect(actions(jobs)).toEqual(["standalone_action"]);
    expect(jobs[0]).toMatchObject({
      requiresDb: false,
      runCommand: "python:latest analysis/do_something.py",
    });
  });

  test("the run command carries the action's config as JSON, quoted like shlex.join (S090)", () => {
    const pipeline = parseProject(`version: '3.0'
expectations: {population_size: 10}
actions:
  analyse:
    run: python:v2 analysis/count_lines.py ehrql-counts.txt
    config:
      files: [ehrql-male.csv, ehrql-female.csv, "ehrql-qu'ote.csv"]
    outputs: {moderately_sensitive: {counts: ehrql-counts.txt}}
`);
    const [job] = plan(request({ requestedActions: ["analyse"] }), [], pipeline);
    expect(job!.runCommand).toBe(
      `python:v2 analysis/count_lines.py ehrql-counts.txt --config '{"files": ["ehrql-male.csv", "ehrql-female.csv", "ehrql-qu\\u0027ote.csv"]}'`,
    );
  });

  test("a chain of 10,000 needs is walked without recursion, dependencies first, each waiting on the one before", () => {
    const length = 10_000;
    const yaml = `version: "4.0"\nactions:\n${Array.from(
      { length },
      (_, i) =>
        `  a${i}:\n    run: python:v2 a.py ${i}\n${i > 0 ? `    needs: [a${i - 1}]\n` : ""}    outputs: {moderately_sensitive: {t: o/${i}.csv}}\n`,
    ).join("")}`;
    const jobs = plan(request({ requestedActions: [`a${length - 1}`] }), [], parseProject(yaml));
    expect(jobs).toHaveLength(length);
    expect(jobs.map((j) => j.action)).toEqual(Array.from({ length }, (_, i) => `a${i}`));
    expect(jobs[1]!.waitForJobIds).toEqual([jobs[0]!.id]);
    expect(jobs.at(-1)!.waitForJobIds).toEqual([jobs.at(-2)!.id]);
  });

  test("a dependency needed twice gets one job; a dependency that stands is not visited again", () => {
    const yaml = `version: "4.0"
actions:
  base: {run: python:v2 base.py, outputs: {moderately_sensitive: {t: o/base.csv}}}
  left: {run: python:v2 left.py, needs: [base], outputs: {moderately_sensitive: {t: o/left.csv}}}
  right: {run: python:v2 right.py, needs: [base, base], outputs: {moderately_sensitive: {t: o/right.csv}}}
  top: {run: python:v2 top.py, needs: [left, right], outputs: {moderately_sensitive: {t: o/top.csv}}}
`;
    const id = (action: string) => deterministicJobId("rapaaaaaaaaaaaa2", action);
    const fresh = plan(request({ requestedActions: ["top"] }), [], parseProject(yaml));
    expect(actions(fresh)).toEqual(["base", "left", "right", "top"]);
    expect(fresh.map((j) => j.waitForJobIds)).toEqual([
      [],
      [id("base")],
      [id("base"), id("base")],
      [id("left"), id("right")],
    ]);
    const done = existing("base", State.Succeeded);
    const again = plan(request({ requestedActions: ["top"] }), [done], parseProject(yaml));
    expect(actions(again)).toEqual(["left", "right", "top"]);
    expect(again.map((j) => j.waitForJobIds)).toEqual([[], [], [id("left"), id("right")]]);
  });
});

describe("planNewJobs: the jobs' shape in V8", () => {
  // V8's own view of the objects (--allow-natives-syntax, set at run time for this file's process only).
  setFlagsFromString("--allow-natives-syntax");
  const haveSameMap = new Function("a", "b", "return %HaveSameMap(a, b)") as (
    a: object,
    b: object,
  ) => boolean;

  test("every planned job has the same hidden class, so reading a create's thousands of jobs stays fast", () => {
    // A job built by spreading the created status and adding the other keys got a hidden class of its own every
    // few jobs: planning the corpus's 2,191-job project cost more than inserting it (the create regression of
    // issue 18).
    const yaml = `version: "4.0"\nactions:\n${Array.from(
      { length: 300 },
      (_, i) =>
        `  a${i}:\n    run: python:v2 a.py ${i}\n${i > 0 ? `    needs: [a${i - 1}]\n` : ""}    outputs: {moderately_sensitive: {t: o/${i}.csv}}\n`,
    ).join("")}`;
    const jobs = planNewJobs(request({ requestedActions: ["run_all"] }), plannable(parseProject(yaml)), [], {
      now: () => NOW_MS,
      newTraceContext: () => ({ traceparent: "00-aa-bb-01" }),
    });
    expect(jobs).toHaveLength(300);
    expect(jobs.filter((job) => !haveSameMap(job, jobs[0]!)).length).toBe(0);
  });
});
