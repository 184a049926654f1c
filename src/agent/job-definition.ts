/**
 * A RUNJOB/CANCELJOB task's definition, checked before use: it comes over the network and names paths. Only what
 * the agent relies on is checked; the rest is passed through. As in the reference, a missing `task_id` is `""`.
 */
import type { JobDefinition } from "../domain/task.js";
import { AgentError } from "./errors.js";

export class InvalidJobDefinitionError extends AgentError {
  override readonly code = "INVALID_JOB_DEFINITION";
  override readonly permanent = true;
}

const STRINGS = ["id", "rap_id", "repo_url", "commit", "workspace", "action", "image"] as const;

export function parseJobDefinition(definition: Record<string, unknown>): JobDefinition {
  const problems: string[] = [];
  for (const key of STRINGS)
    if (typeof definition[key] !== "string") problems.push(`${key} must be a string`);
  if (typeof definition.created_at !== "number") problems.push("created_at must be a number");
  for (const key of ["args", "input_job_ids", "level4_file_types"] as const) {
    if (!Array.isArray(definition[key])) problems.push(`${key} must be a list`);
  }
  for (const key of ["env", "output_spec"] as const) {
    const value = definition[key];
    if (value === null || typeof value !== "object" || Array.isArray(value))
      problems.push(`${key} must be a mapping`);
  }
  if (problems.length > 0)
    throw new InvalidJobDefinitionError(`Invalid job definition: ${problems.join("; ")}`);
  const study = (definition.study ?? {}) as Record<string, unknown>;
  return {
    ...(definition as unknown as JobDefinition),
    task_id: typeof definition.task_id === "string" ? definition.task_id : "",
    study: {
      git_repo_url: (study.git_repo_url ?? null) as string,
      commit: (study.commit ?? null) as string,
      branch: (study.branch ?? null) as string,
    },
  };
}
