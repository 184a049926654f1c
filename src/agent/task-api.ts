/**
 * The agent's client of the controller's Task API (reference/agent.md §2.2). Unlike the reference, every call has a
 * timeout and is retried with backoff on network errors, timeouts and 5xx answers (DESIGN DECISIONS 9); a 4xx answer
 * (bad token, unknown backend) is not retried. The token is sent as the raw Authorization header and never logged.
 */

import { setTimeout as sleep } from "node:timers/promises";
import { AGENT_FIGURES_HEADER, type AgentFigures } from "../domain/agent-figures.js";
import { type AgentTask, isTaskType, type TaskUpdate } from "../domain/task.js";
import type { AgentLogger } from "./log.js";
import type { LogBatch } from "./log-batcher.js";

export class TaskApiError extends Error {
  readonly code: string = "TASK_API_ERROR";
  constructor(
    message: string,
    /** The HTTP status, or null when no answer came. */
    readonly status: number | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "TaskApiError";
  }
}

/** The controller answered something that is not a Task API answer. */
export class TaskApiResponseError extends TaskApiError {
  override readonly code = "TASK_API_BAD_RESPONSE";
}

export interface TaskApiOptions {
  /** CONTROLLER_TASK_API_ENDPOINT. */
  readonly endpoint: string;
  readonly backend: string;
  /** CONTROLLER_TASK_API_TOKEN. */
  readonly token: string;
  /** Per attempt. Default 30 s. */
  readonly timeoutMs?: number;
  /** Pauses before each retry; the number of entries is the number of retries. Default 1, 2, 4 s. */
  readonly retryDelaysMs?: readonly number[];
  readonly log: AgentLogger;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_RETRY_DELAYS_MS = [1000, 2000, 4000];

export class TaskApiClient {
  /** `urljoin(endpoint, backend)`, as the reference builds it. */
  readonly baseUrl: string;

  constructor(private readonly options: TaskApiOptions) {
    this.baseUrl = new URL(options.backend, options.endpoint).href;
  }

  /** The backend's active tasks (DBSTATUS first, as the controller orders them). */
  async getTasks(signal?: AbortSignal, figures?: AgentFigures): Promise<AgentTask[]> {
    const answer = await this.request(
      "GET",
      `${this.baseUrl}/tasks/`,
      undefined,
      signal,
      figuresHeader(figures),
    );
    return this.tasksOf(answer.body);
  }

  /**
   * The backend's active tasks once they differ from the list tagged `known` (ours: `?wait=`), or as they stand
   * after `waitMs`. `tag` names the list for the next call; null when the controller does not wait (one that does
   * not know the parameter, as the reference's, answers at once without a tag): the caller then polls as before.
   */
  async waitForTasks(
    known: string | null,
    waitMs: number,
    signal?: AbortSignal,
    figures?: AgentFigures,
  ): Promise<{ tasks: AgentTask[]; tag: string | null }> {
    const headers = { ...figuresHeader(figures), ...(known === null ? {} : { "If-None-Match": known }) };
    const url = `${this.baseUrl}/tasks/?wait=${waitMs / 1000}`;
    const answer = await this.request("GET", url, undefined, signal, headers, waitMs);
    return { tasks: this.tasksOf(answer.body), tag: answer.etag };
  }

  private tasksOf(body: unknown): AgentTask[] {
    const tasks = (body as { tasks?: unknown })?.tasks;
    if (!Array.isArray(tasks))
      throw new TaskApiResponseError("The controller's task list has no `tasks` array");
    return tasks.filter((task, i): task is AgentTask => {
      const ok = isAgentTask(task);
      if (!ok) this.options.log.warn({ index: i }, "ignoring a malformed task from the controller");
      return ok;
    });
  }

  async update(update: TaskUpdate, signal?: AbortSignal): Promise<void> {
    const form = new URLSearchParams({ payload: JSON.stringify(update) });
    await this.request("POST", `${this.baseUrl}/task/update/`, form, signal);
  }

  /** A batch of a running job's output (LOGS_TO_CONTROLLER; ours, the reference's agent never sends one). */
  async sendLogs(taskId: string, batch: LogBatch, signal?: AbortSignal): Promise<void> {
    const form = new URLSearchParams({ payload: JSON.stringify({ task_id: taskId, ...batch }) });
    await this.request("POST", `${this.baseUrl}/task/logs/`, form, signal);
  }

  private async request(
    method: "GET" | "POST",
    url: string,
    form: URLSearchParams | undefined,
    signal: AbortSignal | undefined,
    headers: Readonly<Record<string, string>> = {},
    /** How long the controller may wait before it answers, on top of the timeout. */
    waitMs = 0,
  ): Promise<Answer> {
    const delays = this.options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    const path = new URL(url).pathname;
    for (let attempt = 0; ; attempt++) {
      let failure: TaskApiError;
      try {
        return await this.attempt(method, url, form, signal, headers, waitMs);
      } catch (error) {
        if (!(error instanceof TaskApiError) || signal?.aborted) throw error;
        failure = error;
      }
      const retryable = failure.status === null || failure.status >= 500;
      const delay = delays[attempt];
      this.options.log.warn(
        {
          method,
          path,
          status: failure.status,
          attempt: attempt + 1,
          err: failure.message,
          willRetry: retryable && delay !== undefined,
        },
        "Task API call failed",
      );
      if (!retryable || delay === undefined) throw failure;
      await sleep(delay, undefined, { signal });
    }
  }

  private async attempt(
    method: "GET" | "POST",
    url: string,
    form: URLSearchParams | undefined,
    signal: AbortSignal | undefined,
    headers: Readonly<Record<string, string>>,
    waitMs: number,
  ): Promise<Answer> {
    const timeoutMs = (this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS) + waitMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const path = new URL(url).pathname;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          ...headers,
          Authorization: this.options.token,
          Accept: "application/json",
          ...(form ? { "Content-Type": "application/x-www-form-urlencoded" } : {}),
        },
        body: form?.toString(),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        redirect: "error",
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      const reason = timeout.aborted ? `timed out after ${timeoutMs} ms` : describe(error);
      throw new TaskApiError(`${method} ${path} failed: ${reason}`, null, { cause: error });
    }
    const text = await response.text().catch(() => "");
    if (!response.ok) {
      throw new TaskApiError(
        `${method} ${path} answered ${response.status}: ${text.slice(0, 200)}`,
        response.status,
      );
    }
    try {
      return { body: JSON.parse(text), etag: response.headers.get("etag") };
    } catch {
      throw new TaskApiResponseError(
        `${method} ${path} answered something that is not JSON`,
        response.status,
      );
    }
  }
}

/** A controller's answer: its JSON, and its ETag (null when it sent none). */
interface Answer {
  body: unknown;
  etag: string | null;
}

function figuresHeader(figures: AgentFigures | undefined): Record<string, string> {
  return figures ? { [AGENT_FIGURES_HEADER]: JSON.stringify(figures) } : {};
}

function isAgentTask(value: unknown): value is AgentTask {
  if (value === null || typeof value !== "object") return false;
  const task = value as Record<string, unknown>;
  return (
    typeof task.id === "string" &&
    typeof task.type === "string" &&
    isTaskType(task.type) &&
    task.definition !== null &&
    typeof task.definition === "object"
  );
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
