/** What a completed RUNJOB task means for its job (reference §2.6; S133–S138). */
import { expect, test } from "vitest";
import { StatusCode } from "../../src/domain/status.js";
import { outcomeOf, parseExitCode } from "../../src/scheduler/outcome.js";
import { finishedResults } from "../support/test-agent.js";

test.each([
  ["0", 0],
  [0, 0],
  ["137", 137],
  [" 3 ", 3],
  ["None", null],
  [null, null],
  [undefined, null],
  [1.5, 1],
  [true, 1],
  ["1_0", 10],
  ["1__0", null],
  ["1e3", null],
])("exit code %j → %j (Python int())", (value, expected) => {
  expect(parseExitCode(value)).toBe(expected);
});

test("an unparseable exit code counts as non-zero", () => {
  expect(outcomeOf(finishedResults({ exit_code: "None", status_message: "" }), false)).toEqual({
    kind: "final",
    code: StatusCode.NonzeroExit,
    message: "Job exited with an error",
  });
});

test("agent errors: any truthy error is retried, test_job_failure is fatal; falsy errors are not errors", () => {
  expect(outcomeOf(finishedResults({ error: "test_soft_failure" }), false)).toEqual({
    kind: "agent-error",
    fatal: false,
  });
  expect(outcomeOf(finishedResults({ error: { message: "test_job_failure" } }), false)).toEqual({
    kind: "agent-error",
    fatal: true,
  });
  for (const error of [false, null, "", 0, {}])
    expect(outcomeOf(finishedResults({ error }), false).kind).toBe("final");
});
