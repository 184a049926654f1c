import { expect, test } from "vitest";
import { parseLogBatch } from "../../src/http/task-logs.js";

const form = (payload: unknown) =>
  Buffer.from(
    new URLSearchParams({
      payload: typeof payload === "string" ? payload : JSON.stringify(payload),
    }).toString(),
  );
const valid = { task_id: "job1-001", first_line: 3, lines: ["a", "b"], dropped: 1, end: false };

test("a valid batch is read as sent", () => {
  expect(parseLogBatch(form(valid), 100)).toEqual({
    taskId: "job1-001",
    firstLine: 3,
    lines: ["a", "b"],
    dropped: 1,
    end: false,
  });
});

test("each line is cut at MAX_AGENT_STRING_CHARS, saying how much was cut", () => {
  const [line] = parseLogBatch(form({ ...valid, lines: ["x".repeat(30)] }), 10).lines;
  expect(line).toBe(`${"x".repeat(10)} … [cut by the controller: 20 more characters]`);
});

test.each([
  [undefined, "The form has no 'payload' field"],
  ["{", "'payload' is not valid JSON"],
  [[], "'payload' must be a JSON object"],
  [{ ...valid, task_id: "" }, "'payload.task_id' must be a non-empty string"],
  [{ ...valid, first_line: -1 }, "'payload.first_line' must be a whole number, 0 or more"],
  [{ ...valid, dropped: 1.5 }, "'payload.dropped' must be a whole number, 0 or more"],
  [{ ...valid, end: "yes" }, "'payload.end' must be true or false"],
  [{ ...valid, lines: "a" }, "'payload.lines' must be a list of at most 100000 strings"],
  [{ ...valid, lines: ["a", 2] }, "'payload.lines[1]' must be a string"],
])("refuses %j: %s", (payload, message) => {
  const body = payload === undefined ? Buffer.from("other=1") : form(payload);
  expect(() => parseLogBatch(body, 100)).toThrow(message);
});
