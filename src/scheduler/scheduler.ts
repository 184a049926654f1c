/**
 * The controller's scheduler (reference/controller.md §2–§4): every JOB_LOOP_INTERVAL, one pass over every pending
 * and running job, then the scheduled DBSTATUS/DBDATACHECK tasks. A pass reads what it needs with a constant
 * number of queries (PassContext) and writes only what changes, each job's change in its own transaction, guarded so
 * that a concurrent writer (a cancel, an operator command, another controller) is detected, not overwritten.
 *
 * Robustness (DESIGN DECISIONS 4, 5): an error while handling one job is logged and counted, and the pass goes on
 * with the next; the job is tried again next pass, and after MAX_TASK_RETRIES failures in a row it fails with
 * internal_error. Agent errors are retried with a new task up to the same bound. The loop itself never stops on an
 * error.
 */
import type { Logger } from "pino";
import type { Config } from "../config/index.js";
import { type NewTask, type Storage, StorageFullError, type Stores } from "../db/storage.js";
import { type Clock, nowNanos, nowSeconds } from "../domain/clock.js";
import type { Job } from "../domain/job.js";
import type { JobObserver } from "../domain/job-observer.js";
import { StatusMessage } from "../domain/messages.js";
import { State, StatusCode } from "../domain/status.js";
import { cancelJobTaskId, runJobTaskId, TaskType } from "../domain/task.js";
import { annotate, codeForStage, type Transition, transition } from "../domain/transition.js";
import { shlexSplit } from "../pipeline/index.js";
import { ImageDigestError } from "../registry/index.js";
import { jobDefinition, taskAttributes } from "./definition.js";
import { AgentPresence, lostTaskMessage } from "./lost-task.js";
import { handlingOrder } from "./order.js";
import { outcomeOf } from "./outcome.js";
import { PassContext } from "./pass-context.js";
import { updateScheduledTasks } from "./scheduled-tasks.js";

/** Resolves an action image's registry digest (src/registry); null when digests are not resolved. */
export interface ImageDigests {
  resolve(imageAndTag: string): Promise<string | null>;
}

export interface SchedulerDeps {
  storage: Storage;
  config: Config;
  clock: Clock;
  digests: ImageDigests;
  log: Logger;
  observers?: readonly JobObserver[];
}

export interface PassReport {
  /** Jobs handled (pending and running at the start of the pass). */
  jobs: number;
  /** Jobs whose status changed. */
  changed: number;
  /** Jobs whose handling failed this pass (they are tried again next pass). */
  failed: number;
  /** The database's disk was full: the pass stopped at the first write, and the loop waits longer. */
  storageFull?: true;
}

/** While the database's disk is full, passes back off: twice as long each time, up to a minute. */
const STORAGE_FULL_MAX_DELAY_MS = 60_000;

/** The pause before the next pass after `fullPasses` passes in a row found the database's disk full (pure). */
export function storageFullDelayMs(fullPasses: number, intervalMs: number): number {
  if (fullPasses === 0) return intervalMs;
  return Math.min(STORAGE_FULL_MAX_DELAY_MS, Math.max(intervalMs, 1000) * 2 ** Math.min(fullPasses, 16));
}

/** Another writer changed the job since the pass read it: leave it for the next pass. */
class ConcurrentChange extends Error {}

export type SchedulerState = "idle" | "running" | "stopping" | "stopped";

export class Scheduler {
  private readonly failures = new Map<string, number>();
  /** Passes in a row that found the database's disk full (0: it is not). */
  private fullPasses = 0;
  /** Since when each backend's agent has been polling (lost tasks are told from this). */
  private readonly agents = new AgentPresence();
  /** The jobs the last pass read, by id: the next pass reads only their status again (PassContext.load). */
  private known: ReadonlyMap<string, Job> = new Map();
  private state: SchedulerState = "idle";
  private stopRequested: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly deps: SchedulerDeps) {}

  get lifecycle(): SchedulerState {
    return this.state;
  }

  /** Starts passes every loop interval until `stop`. */
  start(): void {
    if (this.state !== "idle") throw new Error(`the scheduler cannot start when ${this.state}`);
    this.state = "running";
    this.loop = this.runLoop();
  }

  /** Lets the pass in progress finish, then stops. */
  async stop(): Promise<void> {
    if (this.state === "idle") {
      this.state = "stopped";
      return;
    }
    if (this.state !== "running") return this.loop;
    this.state = "stopping";
    this.stopRequested?.();
    await this.loop;
    this.state = "stopped";
  }

  private async runLoop(): Promise<void> {
    const { log, config } = this.deps;
    while (this.state === "running") {
      try {
        await this.tick();
      } catch (error) {
        // Reading the active jobs itself failed (a locked or unreachable database): try again next interval.
        log.error({ err: error }, "scheduler pass failed");
      }
      if (this.state !== "running") break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(
          resolve,
          storageFullDelayMs(this.fullPasses, config.scheduler.loopIntervalMs),
        );
        this.stopRequested = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** One pass: every active job, then the scheduled tasks. */
  async tick(): Promise<PassReport> {
    const { storage, config, log } = this.deps;
    const context = await PassContext.load(storage, config, this.known);
    this.known = new Map(context.jobs.map((job) => [job.id, job]));
    const nowS = nowSeconds(this.deps.clock);
    for (const backend of config.backends)
      this.agents.observe(backend, context.flagsOf(backend).agentLastSeenAt, nowS);
    const report: PassReport = { jobs: context.jobs.length, changed: 0, failed: 0 };
    let full: StorageFullError | undefined;
    const order = handlingOrder(context.jobs);
    for (let step = order.next(); !step.done; ) {
      const job = step.value;
      const before = job.statusCode;
      try {
        await this.handleJob(job, context);
        this.failures.delete(job.id);
      } catch (error) {
        // No write can succeed until there is room: not this job's fault, and no use trying the others.
        if (error instanceof StorageFullError) {
          full = error;
          break;
        }
        if (!(error instanceof ConcurrentChange)) {
          report.failed += 1;
          await this.recordFailure(job, context, error);
        }
      }
      if (job.statusCode !== before) report.changed += 1;
      step = order.next(job.state === State.Running);
    }
    if (!full) {
      try {
        await updateScheduledTasks(storage, config, this.deps.clock, this.deps.digests);
      } catch (error) {
        if (error instanceof StorageFullError) full = error;
        else log.error({ err: error }, "could not update the scheduled database tasks");
      }
    }
    if (full) report.storageFull = true;
    this.noteStorage(full);
    return report;
  }

  /** Says once that the database's disk is full (the real error), and once that there is room again. */
  private noteStorage(full: StorageFullError | undefined): void {
    if (full && this.fullPasses === 0)
      this.deps.log.error(
        { err: full.cause ?? full },
        "the database's disk is full: no job can change until there is room; passes are retried less often",
      );
    else if (!full && this.fullPasses > 0)
      this.deps.log.info(
        { passes: this.fullPasses },
        "the database has room again: the scheduler is back to normal",
      );
    this.fullPasses = full ? this.fullPasses + 1 : 0;
  }

  /**
   * Operator command (reference §10): every running job of the backend goes back to pending, waiting for the
   * reboot, and its task is cancelled; the caller pauses the backend first. Returns how many jobs were reset.
   */
  async prepareForReboot(backend: string): Promise<number> {
    const context = await PassContext.load(this.deps.storage, this.deps.config);
    const running = context.jobs.filter((job) => job.backend === backend && job.state === State.Running);
    for (const job of running) {
      await this.deps.storage.transaction(async (stores) => {
        await this.setCode(stores, context, job, StatusCode.WaitingOnReboot, StatusMessage.WaitingOnReboot);
        await this.cancelTask(stores, context, job);
      });
    }
    return running.length;
  }

  private async recordFailure(job: Job, context: PassContext, error: unknown): Promise<void> {
    const failures = (this.failures.get(job.id) ?? 0) + 1;
    this.failures.set(job.id, failures);
    const bound = this.deps.config.scheduler.maxTaskRetries;
    this.deps.log.error(
      { err: error, job: job.id, action: job.action, workspace: job.workspace, failures, bound },
      "error handling job",
    );
    if (failures < bound) return;
    try {
      await this.deps.storage.transaction((stores) =>
        this.setCode(stores, context, job, StatusCode.InternalError, StatusMessage.InternalError),
      );
      this.failures.delete(job.id);
    } catch (again) {
      this.deps.log.error({ err: again, job: job.id }, "could not fail a job that keeps failing");
    }
  }

  /** The reference's decision procedure (§2.4): cancelled, paused, database maintenance, then by state. */
  private async handleJob(job: Job, context: PassContext): Promise<void> {
    const { storage, log } = this.deps;
    const flags = context.flagsOf(job.backend);
    if (job.cancelled) {
      await storage.transaction(async (stores) => {
        await this.cancelTask(stores, context, job);
        await this.setCode(stores, context, job, StatusCode.CancelledByUser, StatusMessage.CancelledByUser);
      });
      return;
    }
    if (flags.paused && job.state === State.Pending) {
      // A job waiting for a reboot keeps saying so; its updated_at still shows it is looked after.
      const keep = job.statusCode === StatusCode.WaitingOnReboot;
      const code = keep ? job.statusCode : StatusCode.WaitingPaused;
      const message = keep ? (job.statusMessage ?? "") : StatusMessage.Paused;
      await this.write(context, job, this.transitionTo(job, code, message));
      return;
    }
    if (flags.dbMaintenance && job.requiresDb) {
      if (job.state !== State.Running) {
        const change = this.transitionTo(
          job,
          StatusCode.WaitingDbMaintenance,
          StatusMessage.WaitingDbMaintenance,
        );
        await this.write(context, job, change);
        return;
      }
      await storage.transaction(async (stores) => {
        log.warn(
          { job: job.id, action: job.action, workspace: job.workspace },
          `DB maintenance mode active, killing db job ${job.id}`,
        );
        await this.cancelTask(stores, context, job);
        await this.setCode(
          stores,
          context,
          job,
          StatusCode.WaitingDbMaintenance,
          StatusMessage.WaitingDbMaintenance,
        );
      });
      return;
    }
    if (job.state === State.Pending) await this.handlePending(job, context);
    else await this.handleRunning(job, context);
  }

  private async handlePending(job: Job, context: PassContext): Promise<void> {
    const { storage, config } = this.deps;
    const dependencies = job.waitForJobIds.flatMap((id) => {
      const state = context.states.get(id);
      return state === undefined ? [] : [state];
    });
    const wait = (code: StatusCode, message: string) =>
      this.write(context, job, this.transitionTo(job, code, message));
    if (dependencies.includes(State.Failed))
      return wait(StatusCode.DependencyFailed, StatusMessage.DependencyFailed);
    if (dependencies.some((state) => state !== State.Succeeded))
      return wait(StatusCode.WaitingOnDependencies, StatusMessage.WaitingOnDependencies);

    const backend = config.backend[job.backend];
    if (!backend) throw new Error(`backend '${job.backend}' is not configured (BACKENDS)`);
    const weight = context.weightOf(job);
    if (job.requiresDb) {
      if (context.usageFor(job) + weight > backend.maxDbWorkers)
        return wait(StatusCode.WaitingOnDbWorkers, StatusMessage.WaitingOnDbWorkers);
    } else if (context.usageFor(job) + weight > backend.maxWorkers) {
      const message =
        weight > 1 ? StatusMessage.WaitingOnWorkersResourceIntensive : StatusMessage.WaitingOnWorkers;
      return wait(StatusCode.WaitingOnWorkers, message);
    }

    let imageSha: string | null;
    try {
      imageSha = await this.deps.digests.resolve(shlexSplit(job.runCommand)[0] ?? "");
    } catch (error) {
      // The registry could not say which image to run: the job waits, saying why, and is tried next pass.
      if (!(error instanceof ImageDigestError)) throw error;
      await this.write(context, job, annotate(job, error.message, nowNanos(this.deps.clock)));
      return;
    }
    await storage.transaction(async (stores) => {
      // A pending job has no active task; if one is left over (an interrupted reboot), stop it before the next.
      await this.cancelTask(stores, context, job);
      const taskId = runJobTaskId(job.id, (context.tasks.get(job.id)?.length ?? 0) + 1);
      const definition = jobDefinition(job, config.scheduler, {
        taskId,
        imageSha,
        inputJobIds: await context.inputJobIds(stores, job),
      });
      const task = this.newTask(job, taskId, TaskType.RunJob, { ...definition });
      await stores.tasks.insert(task);
      await this.setCode(stores, context, job, StatusCode.Initiated, StatusMessage.Initiated);
      context.addTask({
        ...task,
        active: true,
        finishedAt: null,
        agentStage: null,
        agentComplete: false,
        agentResults: null,
        agentTimestampNs: null,
        agentUpdatedAt: null,
      });
    });
  }

  private async handleRunning(job: Job, context: PassContext): Promise<void> {
    const { storage, config } = this.deps;
    const task = context.latestTask(job);
    if (!task) throw new Error(`running job ${job.id} has no RUNJOB task`);
    const lost = lostTaskMessage(
      task,
      this.agents.pollingSince(job.backend),
      nowSeconds(this.deps.clock),
      config.scheduler.taskSilenceTimeoutS,
    );
    if (lost !== null) return this.failLostTask(job, task.id, lost, context);
    if (!task.agentComplete) {
      // The agent's stage moves the code; the message stays ("Job executing on the backend").
      const code = codeForStage(task.agentStage, job.statusCode);
      await this.write(
        context,
        job,
        this.transitionTo(job, code, job.statusMessage ?? "", task.agentTimestampNs),
      );
      return;
    }
    const results = task.agentResults ?? {};
    const outcome = outcomeOf(results, job.requiresDb);
    await storage.transaction(async (stores) => {
      if (outcome.kind === "final") {
        await this.setCode(
          stores,
          context,
          job,
          outcome.code,
          outcome.message,
          task.agentTimestampNs,
          results,
        );
      } else if (outcome.fatal) {
        await this.setCode(stores, context, job, StatusCode.JobError, StatusMessage.JobError, null, results);
      } else if ((context.tasks.get(job.id)?.length ?? 0) >= config.scheduler.maxTaskRetries) {
        this.deps.log.error(
          { job: job.id, action: job.action, workspace: job.workspace, error: results.error },
          "the agent kept failing to run this job: giving up",
        );
        await this.setCode(
          stores,
          context,
          job,
          StatusCode.InternalError,
          StatusMessage.InternalError,
          null,
          results,
        );
      } else {
        await this.setCode(stores, context, job, StatusCode.WaitingOnNewTask, StatusMessage.WaitingOnNewTask);
      }
    });
  }

  /** Fails a running job whose task will never report (lostTaskMessage), stopping the task if it is still served. */
  private async failLostTask(job: Job, taskId: string, message: string, context: PassContext): Promise<void> {
    this.deps.log.error(
      { job: job.id, action: job.action, workspace: job.workspace, task: taskId, reason: message },
      "the agent lost this job's task: failing the job",
    );
    await this.deps.storage.transaction(async (stores) => {
      await this.cancelTask(stores, context, job);
      await this.setCode(stores, context, job, StatusCode.InternalError, message);
    });
  }

  /** Stops the job's RUNJOB task if it is active: it becomes inactive and a CANCELJOB task tells the agent (§4.2). */
  private async cancelTask(stores: Stores, context: PassContext, job: Job): Promise<void> {
    const runTask = context.latestTask(job);
    if (!runTask?.active) return;
    const now = nowSeconds(this.deps.clock);
    if (!(await stores.tasks.deactivate(runTask.id, now))) return;
    runTask.active = false;
    runTask.finishedAt = now;
    const taskId = cancelJobTaskId(runTask.id);
    const definition = jobDefinition(job, this.deps.config.scheduler, {
      taskId,
      imageSha: null,
      inputJobIds: await context.inputJobIds(stores, job),
    });
    await stores.tasks.insert(this.newTask(job, taskId, TaskType.CancelJob, { ...definition }));
  }

  private newTask(job: Job, id: string, type: TaskType, definition: Record<string, unknown>) {
    return {
      id,
      backend: job.backend,
      type,
      jobId: job.id,
      definition,
      attributes: taskAttributes(job),
      createdAt: nowSeconds(this.deps.clock),
    } satisfies NewTask;
  }

  private setCode(
    stores: Stores,
    context: PassContext,
    job: Job,
    code: StatusCode,
    message: string,
    eventNs?: number | null,
    results?: Record<string, unknown>,
  ): Promise<void> {
    return this.apply(stores, context, job, this.transitionTo(job, code, message, eventNs), results);
  }

  private transitionTo(job: Job, code: StatusCode, message: string, eventNs?: number | null): Transition {
    return transition(job, code, message, nowNanos(this.deps.clock), eventNs);
  }

  /**
   * A status write with nothing else in its transaction: none at all when nothing changes, which is what most jobs
   * of most passes come to (a job still waiting, a stage already recorded). A transaction that writes nothing would
   * still take the write lock and cost two statements per job.
   */
  private async write(context: PassContext, job: Job, change: Transition): Promise<void> {
    if (change.kind === "unchanged") return;
    await this.deps.storage.transaction((stores) => this.apply(stores, context, job, change));
  }

  /** Writes a transition guarded by the status the job was read with, then updates the pass and tells observers. */
  private async apply(
    stores: Stores,
    context: PassContext,
    job: Job,
    change: Transition,
    results?: Record<string, unknown>,
  ): Promise<void> {
    if (change.kind === "unchanged") return;
    const expected = { statusCode: job.statusCode, cancelled: job.cancelled };
    if (!(await stores.jobs.applyStatus(job.id, expected, change.status))) throw new ConcurrentChange(job.id);
    const previous = job.state;
    Object.assign(job, change.status);
    context.recordState(job, previous);
    if (change.kind === "changed") {
      if (change.clamped)
        this.deps.log.warn(
          { job: job.id },
          "an agent timestamp before the job's previous change was moved forward",
        );
      for (const observer of this.deps.observers ?? []) {
        try {
          observer.statusChanged(job, change, results);
        } catch (error) {
          this.deps.log.error({ err: error, job: job.id }, "a job observer failed");
        }
      }
    }
  }
}
