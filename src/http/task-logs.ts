/**
 * What an agent posts to `POST /{backend}/task/logs/` (ours; only with LOGS_TO_CONTROLLER=true): a batch of a
 * running job's output, as a form field `payload` holding JSON like a task update's:
 * `{"task_id": str, "first_line": int, "lines": [str], "dropped": int, "end": bool}`. Checked before anything is
 * kept, as task updates are (src/http/task-update.ts): the request's size is bounded by MAX_BODY_BYTES, the number
 * of lines here, each line cut at MAX_AGENT_STRING_CHARS.
 */
import { cut, echo } from "../domain/echo.js";
import type { ReceivedBatch } from "../ops/job-log-buffer.js";
import { TaskUpdateInvalidError } from "./errors.js";

/** More lines than a batch of the agent's (LOGS_BATCH_MAX_BYTES, ≥ 4 bytes a line) could hold is not an agent's. */
export const MAX_BATCH_LINES = 100_000;

export interface LogBatchReport extends ReceivedBatch {
  taskId: string;
}

export function parseLogBatch(form: Buffer | undefined, maxStringChars: number): LogBatchReport {
  const payload = new URLSearchParams((form ?? Buffer.alloc(0)).toString("utf8")).get("payload");
  if (payload === null) throw new TaskUpdateInvalidError("The form has no 'payload' field");
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    throw new TaskUpdateInvalidError("'payload' is not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new TaskUpdateInvalidError("'payload' must be a JSON object");
  const fields = value as Record<string, unknown>;
  const { task_id: taskId, first_line: firstLine, lines, dropped, end } = fields;
  if (typeof taskId !== "string" || taskId === "" || taskId.length > maxStringChars)
    fail("task_id", "a non-empty string");
  if (!isCount(firstLine)) fail("first_line", "a whole number, 0 or more");
  if (!isCount(dropped)) fail("dropped", "a whole number, 0 or more");
  if (typeof end !== "boolean") fail("end", "true or false");
  if (!Array.isArray(lines) || lines.length > MAX_BATCH_LINES)
    fail("lines", `a list of at most ${MAX_BATCH_LINES} strings`);
  const kept = lines.map((line, index) => {
    if (typeof line !== "string") fail(`lines[${index}]`, "a string");
    return cut(line, maxStringChars, (omitted) => ` … [cut by the controller: ${omitted} more characters]`);
  });
  return { taskId, firstLine, lines: kept, dropped, end };
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function fail(field: string, expected: string): never {
  throw new TaskUpdateInvalidError(`'payload.${echo(field)}' must be ${expected}`);
}
