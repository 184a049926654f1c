/**
 * A test agent: speaks the Task API over HTTP exactly as the real agent does (reference/scenarios.md §0.5):
 * `GET /{backend}/tasks/` with the raw token, and `POST /{backend}/task/update/` with a form-encoded `payload`.
 * It runs nothing; a test decides what each task reports.
 */
import { AGENT_FIGURES_HEADER } from "../../src/domain/agent-figures.js";
import type { AgentTask } from "../../src/domain/task.js";

/** The results a real agent sends when a job finished (every key the controller reads, plus `error`). */
export function finishedResults(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    exit_code: "0",
    docker_image_id: "image_id",
    status_message: "message",
    hint: null,
    timestamp_ns: 1740823510099999000,
    action_version: "unknown",
    action_revision: "unknown",
    action_created: "unknown",
    base_revision: "unknown",
    base_created: "unknown",
    has_unmatched_patterns: false,
    has_level4_excluded_files: false,
    error: false,
    job_metrics: { cpu_peak: 12.0 },
    ...overrides,
  };
}

export interface UpdateAnswer {
  status: number;
  json: unknown;
}

export class TestAgent {
  constructor(
    private readonly url: string,
    readonly backend: string,
    private readonly token: string,
  ) {}

  /** Polls for tasks; `figures` is sent as the agent's figures header (src/domain/agent-figures.ts), as given. */
  async tasks(figures?: string): Promise<AgentTask[]> {
    const response = await fetch(`${this.url}/${this.backend}/tasks/`, {
      headers: { authorization: this.token, ...(figures ? { [AGENT_FIGURES_HEADER]: figures } : {}) },
    });
    if (response.status !== 200)
      throw new Error(`GET tasks answered ${response.status}: ${await response.text()}`);
    return ((await response.json()) as { tasks: AgentTask[] }).tasks;
  }

  async task(id: string): Promise<AgentTask | undefined> {
    return (await this.tasks()).find((task) => task.id === id);
  }

  /** Posts one update, as the form the real agent sends. */
  async update(
    taskId: string,
    stage: string,
    options: { results?: Record<string, unknown>; complete?: boolean; timestampNs?: number | "" | null } = {},
  ): Promise<UpdateAnswer> {
    const payload = JSON.stringify({
      task_id: taskId,
      stage,
      results: options.results ?? {},
      complete: options.complete ?? false,
      timestamp_ns: options.timestampNs ?? null,
    });
    const response = await fetch(`${this.url}/${this.backend}/task/update/`, {
      method: "POST",
      headers: { authorization: this.token, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ payload }).toString(),
    });
    const text = await response.text();
    return { status: response.status, json: text ? JSON.parse(text) : undefined };
  }

  /** The job's task finished: stage `finalized`, complete, with these results. */
  finish(taskId: string, results: Record<string, unknown> = finishedResults(), timestampNs?: number) {
    return this.update(taskId, "finalized", { results, complete: true, timestampNs: timestampNs ?? null });
  }
}
