/** The one status transition (reference/controller.md §2.2), row by row of §2.8. */
import { describe, expect, test } from "vitest";
import { StatusMessage } from "../../src/domain/messages.js";
import { State, StatusCode } from "../../src/domain/status.js";
import {
  annotate,
  cancelRequest,
  codeForStage,
  createdStatus,
  type JobStatus,
  transition,
} from "../../src/domain/transition.js";

const T = 1_700_000_000;
const NS = T * 1e9;

function job(overrides: Partial<JobStatus> = {}): JobStatus {
  return { ...createdStatus(T * 1000), ...overrides };
}

const running = (code: StatusCode = StatusCode.Executing): JobStatus =>
  job({ state: State.Running, statusCode: code, startedAt: T - 100, statusMessage: StatusMessage.Initiated });

describe("§2.8: each transition's code, coarse state and times", () => {
  test.each([
    // [from, to, message, expected state, started_at, completed_at]
    [job(), StatusCode.CancelledByUser, StatusMessage.CancelledByUser, State.Failed, null, T + 5],
    [job(), StatusCode.WaitingPaused, StatusMessage.Paused, State.Pending, null, null],
    [
      running(),
      StatusCode.WaitingDbMaintenance,
      StatusMessage.WaitingDbMaintenance,
      State.Pending,
      null,
      null,
    ],
    [job(), StatusCode.DependencyFailed, StatusMessage.DependencyFailed, State.Failed, null, T + 5],
    [job(), StatusCode.WaitingOnDependencies, StatusMessage.WaitingOnDependencies, State.Pending, null, null],
    [job(), StatusCode.WaitingOnWorkers, StatusMessage.WaitingOnWorkers, State.Pending, null, null],
    [job(), StatusCode.WaitingOnDbWorkers, StatusMessage.WaitingOnDbWorkers, State.Pending, null, null],
    [job(), StatusCode.Initiated, StatusMessage.Initiated, State.Running, T + 5, null],
    [
      running(StatusCode.Initiated),
      StatusCode.Preparing,
      StatusMessage.Initiated,
      State.Running,
      T - 100,
      null,
    ],
    [
      running(StatusCode.Preparing),
      StatusCode.Prepared,
      StatusMessage.Initiated,
      State.Running,
      T - 100,
      null,
    ],
    [
      running(StatusCode.Prepared),
      StatusCode.Executing,
      StatusMessage.Initiated,
      State.Running,
      T - 100,
      null,
    ],
    [running(), StatusCode.Executed, StatusMessage.Initiated, State.Running, T - 100, null],
    [
      running(StatusCode.Executed),
      StatusCode.Finalizing,
      StatusMessage.Initiated,
      State.Running,
      T - 100,
      null,
    ],
    [running(), StatusCode.Succeeded, StatusMessage.Succeeded, State.Succeeded, T - 100, T + 5],
    [running(), StatusCode.NonzeroExit, StatusMessage.NonzeroExit, State.Failed, T - 100, T + 5],
    [running(), StatusCode.UnmatchedPatterns, StatusMessage.UnmatchedPatterns, State.Failed, T - 100, T + 5],
    [running(), StatusCode.WaitingOnNewTask, StatusMessage.WaitingOnNewTask, State.Pending, null, null],
    [running(), StatusCode.JobError, StatusMessage.JobError, State.Failed, T - 100, T + 5],
    [running(), StatusCode.WaitingOnReboot, StatusMessage.WaitingOnReboot, State.Pending, null, null],
    [job(), StatusCode.InternalError, StatusMessage.InternalError, State.Failed, null, T + 5],
  ] as const)("%#: → %s", (from, code, message, state, startedAt, completedAt) => {
    const change = transition(from, code, message, (T + 5) * 1e9);
    expect(change.kind).toBe("changed");
    if (change.kind !== "changed") return;
    expect(change.status).toEqual({
      state,
      statusCode: code,
      statusMessage: message,
      updatedAt: T + 5,
      startedAt,
      completedAt,
      statusCodeUpdatedAt: (T + 5) * 1e9,
    });
    expect(change.from).toBe(from.statusCode);
    expect(change.previousSinceNs).toBe(from.statusCodeUpdatedAt);
  });

  test("cancelled_by_user keeps the completed_at the cancel request set", () => {
    const request = cancelRequest(T + 1.7);
    expect(request).toEqual({ cancelled: true, completedAt: T + 1 });
    const change = transition(
      job({ completedAt: request.completedAt }),
      StatusCode.CancelledByUser,
      "x",
      (T + 9) * 1e9,
    );
    expect(change.kind === "changed" && change.status.completedAt).toBe(T + 1);
  });

  test("a job cancelled without a request's completion time (an older writer's row) completes at the change", () => {
    const change = transition(job(), StatusCode.CancelledByUser, "x", (T + 9) * 1e9);
    expect(change.kind === "changed" && change.status.completedAt).toBe(T + 9);
  });

  test("the messages are the reference's, with the 'retriedwith' typo fixed (DESIGN DECISIONS 10)", () => {
    expect(StatusMessage.WaitingOnNewTask).toBe(
      "This job returned an error that could be retried with a new task.",
    );
    expect(StatusMessage.InternalError).toBe(
      "Internal error: this usually means a platform issue rather than a problem for users to fix.\nThe tech team are automatically notified of these errors and will be investigating.",
    );
  });
});

describe("times", () => {
  test("S131/§2.2: an agent timestamp stamps the change (agent clock, not controller clock)", () => {
    const change = transition(running(StatusCode.Initiated), StatusCode.Prepared, "m", NS + 50e9, NS + 2.5e9);
    expect(change.kind === "changed" && change.status).toMatchObject({
      updatedAt: T + 2,
      statusCodeUpdatedAt: NS + 2.5e9,
      startedAt: T - 100,
    });
  });

  test("§11.18: a change that would end before the previous one began is clamped to 1 ms after it", () => {
    const from = job({ statusCodeUpdatedAt: NS + 1e9 });
    const change = transition(from, StatusCode.Initiated, "m", NS);
    expect(change.kind === "changed" && change.clamped).toBe(true);
    expect(change.kind === "changed" && change.status.statusCodeUpdatedAt).toBe(NS + 1e9 + 1_000_000);
  });

  test.each([
    ["1e300 (issue 14)", 1e300],
    ["two days ahead of the clock", NS + 2 * 86_400e9],
    ["before 2000", -1e300],
  ])(
    "a previous change stamped %s is a bad stored value: not clamped to, the change keeps its time",
    (_, bad) => {
      const change = transition(job({ statusCodeUpdatedAt: bad }), StatusCode.Initiated, "m", NS, NS - 3e9);
      expect(change).toMatchObject({
        kind: "changed",
        clamped: false,
        previousSinceNs: NS - 3e9,
        status: { statusCodeUpdatedAt: NS - 3e9, updatedAt: T - 3 },
      });
    },
  );

  test("a previous change less than a day ahead of the clock is still clamped to (an agent's clock ahead)", () => {
    const change = transition(job({ statusCodeUpdatedAt: NS + 3_600e9 }), StatusCode.Initiated, "m", NS);
    expect(change).toMatchObject({
      clamped: true,
      status: { statusCodeUpdatedAt: NS + 3_600e9 + 1_000_000 },
    });
  });

  test("§11.19: the same code again writes nothing within a minute, then only updated_at", () => {
    const from = job({ statusCode: StatusCode.WaitingOnWorkers, updatedAt: T, statusMessage: "old" });
    expect(transition(from, StatusCode.WaitingOnWorkers, "new", (T + 59) * 1e9)).toEqual({
      kind: "unchanged",
    });
    expect(transition(from, StatusCode.WaitingOnWorkers, "new", (T + 61) * 1e9)).toEqual({
      kind: "heartbeat",
      status: { ...from, updatedAt: T + 61 },
    });
  });

  test("started_at is set once, and cleared by reset codes", () => {
    const started = running(StatusCode.Initiated);
    const again = transition(started, StatusCode.Executing, "m", NS);
    expect(again.kind === "changed" && again.status.startedAt).toBe(T - 100);
  });
});

describe("annotate (ours: a waiting job's reason without a code)", () => {
  test("a new message is written at once, the same one only as a heartbeat", () => {
    const from = job({ updatedAt: T });
    expect(annotate(from, "Waiting for the image registry", (T + 1) * 1e9)).toEqual({
      kind: "heartbeat",
      status: { ...from, statusMessage: "Waiting for the image registry", updatedAt: T + 1 },
    });
    expect(annotate(from, from.statusMessage!, (T + 1) * 1e9)).toEqual({ kind: "unchanged" });
  });
});

test("agent stages map to codes; unknown, error and anything else keep the current code", () => {
  for (const stage of ["preparing", "prepared", "executing", "executed", "finalizing", "finalized"])
    expect(codeForStage(stage, StatusCode.Initiated)).toBe(stage);
  for (const stage of ["unknown", "error", "", null, "succeeded"])
    expect(codeForStage(stage, StatusCode.Executing)).toBe(StatusCode.Executing);
});
