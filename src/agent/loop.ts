/**
 * The agent loop (reference/agent.md §2): poll the controller for this backend's active tasks, move each one step
 * forward, report the new stage. Where we differ from the reference (DESIGN DECISIONS 5, 9):
 * - Tasks progress concurrently: each task (each job, for job tasks) has at most one handler in flight, and the
 *   poll does not wait for slow handlers, so a long image pull or copy never holds up other jobs' updates.
 * - Nothing crash-loops the agent. A failing task is logged and retried on a later pass with exponential backoff;
 *   after MAX_TASK_RETRIES consecutive failures (at once, for errors that cannot go away) it is finalized with an
 *   `error` and reported complete with stage `error`, and the controller decides what happens to the job.
 * - Errors talking to the controller or an unresponsive runtime are transient: retried, never counted.
 * - While `run` runs, a job moves on without waiting for a poll where it can: a prepared job is started in the same
 *   handling (while its task is still in the latest list), and a running job's task is handled again as soon as its
 *   container ends (src/agent/exit-watch.ts). Each stage is still reported, in the same order. Passes driven one at
 *   a time (`runOnce`) move each job one step per pass, as the reference's agent does.
 */

import { setTimeout as sleep } from "node:timers/promises";
import { context, type Span, SpanStatusCode, type Tracer, trace } from "@opentelemetry/api";
import type { AgentConfig } from "../config/agent.js";
import type { AgentFigures } from "../domain/agent-figures.js";
import { nowNanos } from "../domain/clock.js";
import { AgentStage, type AgentTask, type JobDefinition, TaskType, type TaskUpdate } from "../domain/task.js";
import { checkRepository, type GitSettings } from "../git/index.js";
import { dbSecrets } from "./db-secrets.js";
import { runDbTask } from "./db-tasks.js";
import { AgentError, describeError, errorClassName } from "./errors.js";
import type { JobError, JobExecutor, JobStatus } from "./executor.js";
import { ExitWatches } from "./exit-watch.js";
import type { AgentFiguresSource } from "./figures.js";
import { parseJobDefinition } from "./job-definition.js";
import type { AgentLogger } from "./log.js";
import type { LogBatch } from "./log-batcher.js";
import type { LogShipper } from "./log-shipper.js";
import { redactResults } from "./redact.js";
import { type Runtime, RuntimeDiskSpaceError, RuntimeTimeoutError } from "./runtime/types.js";
import { TaskApiError } from "./task-api.js";
import { containerName } from "./workspace/paths.js";

export interface TaskApi {
  /** `figures`: what the agent says about itself with the poll (src/domain/agent-figures.ts). */
  getTasks(signal?: AbortSignal, figures?: AgentFigures): Promise<AgentTask[]>;
  /**
   * The tasks once they differ from the list tagged `known`, or after `waitMs` (a long poll, src/agent/task-api.ts);
   * `tag` is null when the controller answered at once without waiting. Absent: the loop polls with `getTasks`.
   */
  waitForTasks?(
    known: string | null,
    waitMs: number,
    signal?: AbortSignal,
    figures?: AgentFigures,
  ): Promise<{ tasks: AgentTask[]; tag: string | null }>;
  update(update: TaskUpdate, signal?: AbortSignal): Promise<void>;
  /** Sends a batch of a running job's output (LOGS_TO_CONTROLLER); absent in clients that never do. */
  sendLogs?(taskId: string, batch: LogBatch, signal?: AbortSignal): Promise<void>;
}

export interface AgentLoopOptions {
  readonly config: AgentConfig;
  readonly runtime: Runtime;
  readonly executor: JobExecutor;
  readonly api: TaskApi;
  readonly git: GitSettings;
  readonly log: AgentLogger;
  /** Spans AGENT_LOOP (one per poll) and LOOP_TASK (one per task handled), as the reference emits; none if absent. */
  readonly tracer?: Tracer;
  /** The agent's figures, sent with every poll; none if absent. */
  readonly figures?: AgentFiguresSource;
  /** Sends running jobs' output to the controller (LOGS_TO_CONTROLLER); absent: it stays here. */
  readonly logShipper?: LogShipper;
  /** Backoff after a task's first failure, doubling up to `retryMaxMs`. Defaults 1 s and 60 s. */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
}

interface FailureRecord {
  /** Consecutive failures that count towards MAX_TASK_RETRIES. */
  count: number;
  /** Consecutive failures of any kind (for the backoff). */
  attempts: number;
  notBeforeMs: number;
}

/** The shortest pause between two polls, so JOB_LOOP_INTERVAL=0 does not spin while handlers run. */
const MIN_POLL_PAUSE_MS = 50;

export class AgentLoop {
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly failures = new Map<string, FailureRecord>();
  private readonly lastStage = new Map<string, string>();
  /** The LOOP_TASK span of each task being handled. */
  private readonly spans = new Map<string, Span>();
  /** The active tasks as the latest poll listed them, by id. */
  private activeTasks = new Map<string, AgentTask>();
  private readonly exitWatches: ExitWatches;
  /** While `run` runs: its signal. Container ends are watched only then (tests driving passes poll themselves). */
  private running: AbortSignal | undefined;

  constructor(private readonly options: AgentLoopOptions) {
    this.exitWatches = new ExitWatches(options.runtime);
  }

  /** One pass: polls once and waits for the handlers it started (tests drive the agent pass by pass). */
  async runOnce(signal?: AbortSignal): Promise<void> {
    const { handled } = await this.poll(signal);
    await handled;
  }

  /**
   * Polls until the signal aborts, then waits for the handlers in flight. A controller that can wait for the task
   * list to change (ours) is asked to, for up to JOB_LOOP_INTERVAL: a new task is started as soon as it exists, and
   * an unchanged list still comes every JOB_LOOP_INTERVAL, as the polls did. Any other controller (the reference's,
   * one that failed) is polled every JOB_LOOP_INTERVAL.
   */
  async run(signal: AbortSignal): Promise<void> {
    const { log, config } = this.options;
    const intervalMs = Math.max(config.jobLoopIntervalMs, MIN_POLL_PAUSE_MS);
    this.running = signal;
    while (!signal.aborted) {
      let waited = false;
      try {
        waited = (await this.poll(signal, intervalMs)).waited;
      } catch (error) {
        if (!signal.aborted)
          log.warn({ err: describeError(error) }, "could not fetch tasks from the controller");
      }
      if (!waited) await sleep(intervalMs, undefined, { signal }).catch(() => undefined);
    }
    await Promise.allSettled(this.inFlight.values());
    await this.exitWatches.settled();
    this.running = undefined;
  }

  /**
   * Fetches the active tasks (after up to `waitMs` for a change, where the controller waits) and starts a handler for
   * each that is not in flight or waiting out a backoff. `handled` settles when those handlers have finished (it
   * never rejects); `waited`: the controller waited for a change.
   */
  private async poll(
    signal?: AbortSignal,
    waitMs?: number,
  ): Promise<{ handled: Promise<void>; waited: boolean }> {
    let fetched: { tasks: AgentTask[]; waited: boolean };
    try {
      const figures = await this.options.figures?.read(this.runningJobs());
      fetched = await this.fetchTasks(signal, figures, waitMs);
    } catch (error) {
      const failed = this.startLoopSpan();
      failed?.setStatus({ code: SpanStatusCode.ERROR, message: describeError(error) });
      failed?.end();
      throw error;
    }
    // The span starts once the tasks are there: it times their handling, not the controller's wait.
    const loopSpan = this.startLoopSpan();
    const { tasks } = fetched;
    this.activeTasks = new Map(tasks.map((task) => [task.id, task]));
    this.forgetInactive();
    const started: Array<Promise<boolean>> = [];
    for (const task of tasks) {
      const handler = this.start(task, loopSpan);
      if (handler) started.push(handler);
    }
    const handled = Promise.all(started).then((results) => {
      loopSpan?.setAttributes({
        handled_tasks: results.length,
        errored_tasks: results.filter((ok) => !ok).length,
      });
      loopSpan?.end();
    });
    return { handled, waited: fetched.waited };
  }

  /** Starts handling `task` unless a handler of its job is in flight or it waits out a backoff. */
  private start(task: AgentTask, loopSpan: Span | undefined): Promise<boolean> | undefined {
    const key = serialKey(task);
    if (this.inFlight.has(key)) return undefined;
    if ((this.failures.get(task.id)?.notBeforeMs ?? 0) > Date.now()) return undefined;
    const handler = this.handle(task, loopSpan).finally(() => this.inFlight.delete(key));
    this.inFlight.set(
      key,
      handler.then(() => undefined),
    );
    return handler;
  }

  /**
   * Once the job's container ends, its task is handled again (finalized) without waiting for the next poll: after
   * the handler in flight, if any, and only while the task is still listed.
   */
  private watchExit(task: AgentTask, job: JobDefinition): void {
    const signal = this.running;
    if (!signal) return;
    this.exitWatches.watch(task.id, containerName(job.id), signal, () => {
      void (async () => {
        await this.inFlight.get(serialKey(task));
        const current = this.activeTasks.get(task.id);
        if (current && !signal.aborted) this.start(current, undefined);
      })();
    });
  }

  /** The list's tag from a controller that waits for changes; null before the first answer, or when it does not. */
  private listTag: string | null = null;

  private async fetchTasks(
    signal: AbortSignal | undefined,
    figures: AgentFigures | undefined,
    waitMs: number | undefined,
  ): Promise<{ tasks: AgentTask[]; waited: boolean }> {
    const { api } = this.options;
    if (waitMs === undefined || !api.waitForTasks) {
      return { tasks: await api.getTasks(signal, figures), waited: false };
    }
    const known = this.listTag;
    // A failed call forgets the tag: the next one is answered at once with the list as it stands.
    this.listTag = null;
    const answer = await api.waitForTasks(known, waitMs, signal, figures);
    this.listTag = answer.tag;
    return { tasks: answer.tasks, waited: answer.tag !== null };
  }

  private startLoopSpan(): Span | undefined {
    return this.options.tracer?.startSpan("AGENT_LOOP", {
      attributes: { backend: this.options.config.backend },
    });
  }

  /** Never rejects: a failure is recorded against the task. Resolves to whether the task was handled without error. */
  private async handle(task: AgentTask, parent: Span | undefined): Promise<boolean> {
    const span = this.startTaskSpan(task, parent);
    try {
      switch (task.type) {
        case TaskType.RunJob:
          await this.runJob(task, parseJobDefinition(task.definition));
          break;
        case TaskType.CancelJob:
          await this.cancelJob(task, parseJobDefinition(task.definition));
          break;
        case TaskType.DbStatus:
        case TaskType.DbDataCheck: {
          const results = await runDbTask(task, this.options.runtime, this.options.config);
          await this.options.api.update({
            task_id: task.id,
            stage: "",
            results,
            complete: true,
            timestamp_ns: null,
          });
          break;
        }
      }
      this.failures.delete(task.id);
      return true;
    } catch (error) {
      span?.recordException(error instanceof Error ? error : String(error));
      span?.setStatus({ code: SpanStatusCode.ERROR, message: describeError(error) });
      await this.failed(task, error);
      return false;
    } finally {
      this.spans.delete(task.id);
      span?.end();
    }
  }

  private startTaskSpan(task: AgentTask, parent: Span | undefined): Span | undefined {
    const { tracer, config } = this.options;
    if (!tracer) return undefined;
    const definition = task.definition as Partial<JobDefinition>;
    const attributes: Record<string, string | number | boolean> = {
      ...task.attributes,
      backend: config.backend,
      task: task.id,
      task_type: task.type.toUpperCase(),
      task_created_at: task.created_at * 1e9,
    };
    if (isJobTask(task)) {
      for (const [key, value] of Object.entries({
        job: definition.id,
        job_request: definition.rap_id,
        workspace: definition.workspace,
        repo_url: definition.repo_url,
        commit: definition.commit,
        action: definition.action,
        image: definition.image,
        allow_database_access: definition.allow_database_access,
      })) {
        if (typeof value === "string" || typeof value === "boolean") attributes[key] = value;
      }
    }
    const span = tracer.startSpan(
      "LOOP_TASK",
      { attributes },
      parent ? trace.setSpan(context.active(), parent) : undefined,
    );
    this.spans.set(task.id, span);
    return span;
  }

  /** RUNJOB (§2.4): one step forward from wherever the job is (two from unknown while `run` runs: see above). */
  private async runJob(task: AgentTask, job: JobDefinition): Promise<void> {
    const { executor, git } = this.options;
    const status = await executor.getStatus(job);
    switch (status.state) {
      case AgentStage.Error:
      case AgentStage.Finalized:
        await this.report(task, job, status, true);
        return;
      case AgentStage.Executing:
        this.options.logShipper?.watch(task.id, job.id);
        await this.report(task, job, { ...status, results: {} }, false);
        this.watchExit(task, job);
        return;
      case AgentStage.Unknown: {
        await checkRepository(
          { repoUrl: job.study.git_repo_url, commit: job.study.commit, branch: job.study.branch },
          git,
        );
        await this.report(
          task,
          job,
          { state: AgentStage.Preparing, timestampNs: nowNanos(), results: {} },
          false,
        );
        await executor.prepare(job);
        const prepared = await executor.getStatus(job);
        await this.report(task, job, prepared, false);
        // Started at once rather than at the next poll, unless that poll dropped the task (a cancel does) or the
        // agent is stopping.
        const moveOn = this.running && !this.running.aborted && this.activeTasks.has(task.id);
        if (moveOn && prepared.state === AgentStage.Prepared) await this.startContainer(task, job);
        return;
      }
      case AgentStage.Prepared:
        await this.startContainer(task, job);
        return;
      case AgentStage.Executed: {
        await this.report(
          task,
          job,
          { state: AgentStage.Finalizing, timestampNs: nowNanos(), results: {} },
          false,
        );
        await executor.finalize(job);
        const final = await executor.getStatus(job);
        await executor.cleanup(job);
        // The job's last lines reach the controller before its end does (LOGS_TO_CONTROLLER).
        await this.options.logShipper?.sent(job.id);
        await this.report(task, job, final, true);
        return;
      }
      default:
        throw new AgentError(`Unexpected state ${status.state} for job ${job.id}`);
    }
  }

  /** Prepared → executing: starts the job's container, reports, and watches for its end. */
  private async startContainer(task: AgentTask, job: JobDefinition): Promise<void> {
    const { executor, config } = this.options;
    await executor.execute(job, dbSecrets(job, config));
    this.options.logShipper?.watch(task.id, job.id);
    await this.report(task, job, await executor.getStatus(job), false);
    this.watchExit(task, job);
  }

  /** CANCELJOB (§2.5): stop the job if it runs, record it as cancelled, clean up. */
  private async cancelJob(task: AgentTask, job: JobDefinition): Promise<void> {
    const { executor } = this.options;
    const initial = await executor.getStatus(job, { cancelled: true });
    await this.report(task, job, initial, false);
    let final = initial;
    if (initial.state === AgentStage.Executing) {
      await executor.terminate(job);
      await this.report(task, job, await executor.getStatus(job), false);
    }
    if (initial.state !== AgentStage.Finalized) {
      await executor.finalize(job, { cancelled: true });
      final = await executor.getStatus(job);
    }
    await executor.cleanup(job);
    await this.report(task, job, final, true);
  }

  private async failed(task: AgentTask, error: unknown): Promise<void> {
    const { log, config } = this.options;
    const transient = isTransient(error);
    const record = this.failures.get(task.id) ?? { count: 0, attempts: 0, notBeforeMs: 0 };
    const count = transient ? record.count : record.count + 1;
    const attempts = record.attempts + 1;
    const permanent = error instanceof AgentError && error.permanent;
    const fields = { ...taskFields(task), err: describeError(error), failures: count, transient };
    const fatal = !transient && (permanent || count >= config.maxTaskRetries) && isJobTask(task);
    this.spans.get(task.id)?.setAttribute("fatal_task_error", fatal);
    if (fatal) {
      log.error(fields, "task error: reporting it to the controller");
      try {
        await this.reportError(task, error);
        this.failures.delete(task.id);
        return;
      } catch (reportError) {
        log.error(
          { ...taskFields(task), err: describeError(reportError) },
          "could not report the task error",
        );
      }
    } else {
      log.warn(fields, "task error: will retry");
    }
    this.failures.set(task.id, { count, attempts, notBeforeMs: Date.now() + this.backoffMs(attempts) });
  }

  /** The fatal path (§2.6): finalize with the error (no cleanup, for debugging) and report stage `error`. */
  private async reportError(task: AgentTask, error: unknown): Promise<void> {
    const { executor } = this.options;
    const jobError = toJobError(error);
    let job: JobDefinition | null = null;
    let status: JobStatus;
    try {
      job = parseJobDefinition(task.definition);
      await executor.finalize(job, { error: jobError });
      status = await executor.getStatus(job);
    } catch (finalizeError) {
      // Finalize itself failing (a full disk, an unsafe name): report without a metadata file.
      this.options.log.error(
        { ...taskFields(task), err: describeError(finalizeError) },
        "could not record the error in the job's metadata",
      );
      status = { state: AgentStage.Error, timestampNs: nowNanos(), results: { error: jobError } };
    }
    await this.report(task, job, status, true);
  }

  private async report(task: AgentTask, job: JobDefinition | null, status: JobStatus, complete: boolean) {
    const previous = this.lastStage.get(task.id) ?? null;
    if (previous !== status.state) {
      const jobId = job?.id ?? String((task.definition as { id?: unknown }).id);
      this.options.log.info(
        {
          ...taskFields(task),
          job: jobId,
          action: job?.action,
          workspace: job?.workspace,
          from: previous,
          to: status.state,
        },
        `State change for job ${jobId}: ${previous} -> ${status.state}`,
      );
      this.lastStage.set(task.id, status.state);
    }
    const results = redactResults(status.results) ?? {};
    this.spans.get(task.id)?.setAttributes({
      final_job_status: status.state,
      complete,
      ...(complete ? resultAttributes(results) : {}),
    });
    await this.options.api.update({
      task_id: task.id,
      stage: status.state,
      results,
      complete,
      timestamp_ns: status.timestampNs,
    });
    if (complete) this.lastStage.delete(task.id);
  }

  /** Jobs whose container runs now: their task's last reported stage is `executing`. */
  runningJobs(): number {
    let running = 0;
    for (const stage of this.lastStage.values()) if (stage === AgentStage.Executing) running += 1;
    return running;
  }

  private backoffMs(failures: number): number {
    const base = this.options.retryBaseMs ?? 1000;
    const max = this.options.retryMaxMs ?? 60_000;
    return Math.min(base * 2 ** Math.max(0, failures - 1), max);
  }

  /** Drops what is kept about tasks the latest poll no longer lists. */
  private forgetInactive(): void {
    const active = this.activeTasks;
    for (const id of this.failures.keys()) if (!active.has(id)) this.failures.delete(id);
    for (const id of this.lastStage.keys()) if (!active.has(id)) this.lastStage.delete(id);
    this.exitWatches.keepOnly(active);
  }
}

/**
 * Failures that say nothing about the task: the controller or the container runtime not answering, or the
 * runtime's disk being full (an operator's problem). Retried with backoff for as long as they last.
 */
function isTransient(error: unknown): boolean {
  return (
    error instanceof TaskApiError ||
    error instanceof RuntimeTimeoutError ||
    error instanceof RuntimeDiskSpaceError
  );
}

/** Final results on the task's span: the redacted results only, so no file name is ever traced. */
function resultAttributes(results: Record<string, unknown>): Record<string, string | boolean> {
  const pick = {
    exit_code: results.exit_code,
    image_id: results.docker_image_id,
    executor_message: results.status_message,
    action_version: results.action_version,
    action_revision: results.action_revision,
    action_created: results.action_created,
    base_revision: results.base_revision,
    base_created: results.base_created,
    cancelled: results.cancelled,
  };
  const attributes: Record<string, string | boolean> = {};
  for (const [key, value] of Object.entries(pick)) {
    if (typeof value === "string" || typeof value === "boolean") attributes[key] = value;
  }
  if (results.error) attributes.error = JSON.stringify(results.error);
  return attributes;
}

function isJobTask(task: AgentTask): boolean {
  return task.type === TaskType.RunJob || task.type === TaskType.CancelJob;
}

/** Job tasks are serialised per job (a RUNJOB and its CANCELJOB never touch the job at the same time). */
function serialKey(task: AgentTask): string {
  const jobId = isJobTask(task) ? (task.definition as { id?: unknown }).id : undefined;
  return typeof jobId === "string" ? `job:${jobId}` : `task:${task.id}`;
}

function taskFields(task: AgentTask): Record<string, unknown> {
  return { task: task.id, task_type: task.type };
}

function toJobError(error: unknown): JobError {
  if (error instanceof Error) {
    return { exception: errorClassName(error), message: error.message, traceback: error.stack ?? "" };
  }
  return { exception: "Error", message: String(error), traceback: "" };
}
