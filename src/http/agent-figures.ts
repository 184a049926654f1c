/**
 * Reads an agent's figures from its poll's header (src/domain/agent-figures.ts), checked as strictly as a task
 * update (src/http/task-update.ts): a JSON object with exactly the known fields, each a whole number from 0 to
 * 2^53. Anything else is refused with a message saying what is wrong; the caller still serves the poll.
 */
import { AGENT_STORAGES, type AgentFigures, type AgentStorage } from "../domain/agent-figures.js";
import { echo } from "../domain/echo.js";

export class AgentFiguresInvalid extends Error {}

const FIELDS = new Set(["running_jobs", "runtime_errors", "storage_free_bytes"]);

/** The figures in `header`, or an AgentFiguresInvalid naming the first problem. */
export function parseAgentFigures(header: string): AgentFigures {
  let value: unknown;
  try {
    value = JSON.parse(header);
  } catch {
    throw new AgentFiguresInvalid("not valid JSON");
  }
  if (!isObject(value)) throw new AgentFiguresInvalid("not a JSON object");
  for (const key of Object.keys(value))
    if (!FIELDS.has(key)) throw new AgentFiguresInvalid(`unknown field '${echo(key)}'`);
  const storage = value.storage_free_bytes ?? {};
  if (!isObject(storage)) throw new AgentFiguresInvalid("'storage_free_bytes' must be an object");
  const free: Partial<Record<AgentStorage, number>> = {};
  for (const [key, bytes] of Object.entries(storage)) {
    if (!(AGENT_STORAGES as readonly string[]).includes(key))
      throw new AgentFiguresInvalid(`unknown storage '${echo(key)}'`);
    free[key as AgentStorage] = count(bytes, `storage_free_bytes.${key}`);
  }
  return {
    running_jobs: count(value.running_jobs, "running_jobs"),
    runtime_errors: count(value.runtime_errors, "runtime_errors"),
    storage_free_bytes: free,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function count(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0)
    throw new AgentFiguresInvalid(`'${field}' must be a whole number from 0 to 2^53`);
  return value;
}
