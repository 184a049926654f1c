/**
 * Job definitions and tasks as the controller sends them to agents (src/domain/task.ts), for the agent's tests and
 * benchmark: a study repository's commit, a python:v2 action, and whatever a test overrides.
 */
import type { AgentTask, JobDefinition } from "../../src/domain/task.js";

export function jobDefinition(
  repo: { path: string; commits: readonly string[] },
  overrides: Partial<JobDefinition> & { id: string },
): JobDefinition {
  const { id } = overrides;
  return {
    rap_id: "12345678abcdefgh",
    task_id: `${id}-001`,
    repo_url: repo.path,
    commit: repo.commits[0]!,
    study: { git_repo_url: repo.path, commit: repo.commits[0]!, branch: "main" },
    workspace: "testing",
    action: "analyse",
    created_at: 1_750_000_000,
    image: "ghcr.io/opensafely-core/python:v2",
    image_sha: null,
    args: ["analysis/analyse.py"],
    env: { OPENSAFELY_BACKEND: "test" },
    inputs: [],
    input_job_ids: [],
    output_spec: { "output/counts.csv": "moderately_sensitive" },
    allow_database_access: false,
    level4_max_csv_rows: 5000,
    level4_max_filesize: 16 * 1024 * 1024,
    user: "alice",
    database_name: null,
    cpu_count: 2,
    memory_limit: "4G",
    level4_file_types: [".csv", ".txt"],
    ...overrides,
  };
}

/** The RUNJOB task carrying `definition`. */
export function runJobTask(
  definition: JobDefinition,
  extra: { attributes?: Record<string, string>; createdAt?: number } = {},
): AgentTask {
  return {
    id: definition.task_id,
    backend: "test",
    type: "runjob",
    definition: definition as unknown as Record<string, unknown>,
    attributes: extra.attributes ?? {},
    created_at: extra.createdAt ?? 1,
  };
}
