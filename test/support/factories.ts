import type { NewTask } from "../../src/db/storage.js";
import { deterministicJobId } from "../../src/domain/ids.js";
import type { Job } from "../../src/domain/job.js";
import { State, StatusCode } from "../../src/domain/status.js";
import { runJobTaskId, TaskType } from "../../src/domain/task.js";

let counter = 0;

/** A 16-character rap id, unique within the test run. */
export function rapId(): string {
  counter += 1;
  return `rap${String(counter).padStart(13, "0")}`;
}

/**
 * A job row with the reference test factory's defaults (workspace `workspace`, repo `/repo`, commit `commit`,
 * run_command `python:v2 myscript.py`, backend `test`); override any field.
 */
export function makeJob(overrides: Partial<Job> = {}): Job {
  const rap = overrides.rapId ?? rapId();
  const action = overrides.action ?? "action";
  const now = Math.floor(Date.now() / 1000);
  return {
    id: deterministicJobId(rap, action),
    rapId: rap,
    state: State.Pending,
    statusCode: StatusCode.Created,
    statusMessage: "Created",
    repoUrl: "/repo",
    commit: "commit",
    branch: "main",
    workspace: "workspace",
    databaseName: "default",
    action,
    actionRepoUrl: null,
    actionCommit: null,
    requiresOutputsFrom: [],
    waitForJobIds: [],
    runCommand: "python:v2 myscript.py",
    outputSpec: {},
    cancelled: false,
    createdAt: now,
    updatedAt: now,
    startedAt: null,
    completedAt: null,
    statusCodeUpdatedAt: now * 1_000_000_000,
    traceContext: { traceparent: "00-0123456789abcdef0123456789abcdef-0123456789abcdef-01" },
    requiresDb: false,
    backend: "test",
    user: "testuser",
    project: "project",
    orgs: ["org"],
    analysisScope: {},
    ...overrides,
  };
}

/** A pending job `id` of workspace `w` on backend `tpp`, just created (the scheduler's unit tests); override any field. */
export function pendingJob(id: string, overrides: Partial<Job> = {}): Job {
  return makeJob({
    id,
    backend: "tpp",
    workspace: "w",
    state: State.Pending,
    statusCode: StatusCode.Created,
    ...overrides,
  });
}

/** The `n`th RUNJOB task of a job on backend `test`, with an empty definition and attributes; override any field. */
export function makeRunJobTask(jobId: string, n = 1, overrides: Partial<NewTask> = {}): NewTask {
  return {
    id: runJobTaskId(jobId, n),
    backend: "test",
    type: TaskType.RunJob,
    jobId,
    definition: {},
    attributes: {},
    createdAt: 1,
    ...overrides,
  };
}
