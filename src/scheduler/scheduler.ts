/**
 * The controller's scheduler (reference/controller.md §2–§4): every JOB_LOOP_INTERVAL, one pass over the pending
 * and running jobs (those something may have changed for: src/scheduler/affected.ts), then the scheduled
 * DBSTATUS/DBDATACHECK tasks. A pass reads what it needs with a constant number of queries (PassContext) and writes
 * only what changes, each job's change a savepoint of a transaction shared with the jobs before it (committed every
 * few milliseconds: src/scheduler/job-writes.ts), guarded so that a concurrent writer (a cancel, an operator
 * command, another controller) is detected, not overwritten.
 *
 * Robustness (DESIGN DECISIONS 4, 5): an error while handling one job is logged and counted (in the database, so
 * the count survives restarts and is shared by every scheduler), and the pass goes on with the next; the job is
 * tried again next pass, and after MAX_TASK_RETRIES failures in a row it fails with internal_error. Agent errors
 * are retried with a new task up to the same bound. The loop itself never stops on an error.
 *
 * More than one scheduler (DESIGN DECISIONS 17): a pass runs only while this scheduler holds the lease
 * (src/scheduler/lease.ts), and every transaction of the pass renews it before its writes. The pass's view of the
 * workers in use, read once at its start, is then the truth: no other scheduler starts jobs meanwhile.
 */
import type { Logger } from "pino";
import type { Config } from "../config/index.js";
import { type Storage, StorageFullError, StorageUnavailableError, type Stores } from "../db/storage.js";
import { type Clock, nowNanos, nowSeconds } from "../domain/clock.js";
import type { Job } from "../domain/job.js";
import type { JobObserver } from "../domain/job-observer.js";
import { StatusMessage } from "../domain/messages.js";
import { State, StatusCode } from "../domain/status.js";
import { runJobTaskId, TaskType } from "../domain/task.js";
import { annotate, codeForStage } from "../domain/transition.js";
import { shlexSplit } from "../pipeline/index.js";
import { ImageDigestError } from "../registry/index.js";
import type { LoopPassSpans, LoopSpans } from "../telemetry/loop-spans.js";
import type { ControllerMetrics } from "../telemetry/metrics.js";
import { ActiveSet } from "./active-set.js";
import { type Affected, affectedJobs, changedBackends, dueAtS, handlingInputs } from "./affected.js";
import { jobDefinition } from "./definition.js";
import { jobLog } from "./job-log.js";
import { ConcurrentChange, JobWrites } from "./job-writes.js";
import { LeaseHeldError, LeaseLostError, processHolder, SchedulerLease } from "./lease.js";
import { AgentPresence, lostTaskMessage } from "./lost-task.js";
import { handlingOrder } from "./order.js";
import { outcomeOf } from "./outcome.js";
import { NO_FLAGS, PassContext, readFlags } from "./pass-context.js";
import { updateScheduledTasks } from "./scheduled-tasks.js";

/** Resolves an action image's registry digest (src/registry); null when digests are not resolved. */
export interface ImageDigests {
  resolve(imageAndTag: string): Promise<string | null>;
  /** Whether `resolve` answers without asking a registry; absent: it always does. */
  known?(imageAndTag: string): boolean;
}

export interface SchedulerDeps {
  storage: Storage;
  config: Config;
  clock: Clock;
  digests: ImageDigests;
  log: Logger;
  observers?: readonly JobObserver[];
  /** Who this scheduler is as a lease holder (default: this process, `pid N on host`). */
  holder?: string;
  /** Times passes and counts failed ones (`/metrics`); absent: not measured. */
  metrics?: Pick<ControllerMetrics, "passFinished" | "passFailed">;
  /** The LOOP, LOOP_JOB and TICK spans (src/telemetry/loop-spans.ts); absent: none. */
  loopSpans?: LoopSpans;
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

/** How often a waiting loop renews (or tries to take) the lease: a third of its time, so two wakes may be missed. */
export function leaseWakeMs(leaseTtlMs: number): number {
  return leaseTtlMs / 3;
}

export type SchedulerState = "idle" | "running" | "stopping" | "stopped";

/** How long a pass runs at most before it lets the event loop turn (handleInOrder). */
const YIELD_EVERY_MS = 50;

/**
 * What the composition root and its callers use of a scheduler, whether it runs on this thread (`Scheduler`) or on
 * a thread of its own (src/app/scheduler-thread.ts).
 */
export interface SchedulerHandle {
  /** The name its passes take the lease under (`/readyz` says whether it holds it). */
  readonly holder: string;
  /** Starts passes every loop interval until `stop`. */
  start(): void;
  /** Runs the next pass now, or, if one is running, once more as soon as it ends (something changed). */
  wake(): void;
  /** One pass (`rap tick`, tests), outside the loop. */
  tick(): Promise<PassReport>;
  /** Gives up the lease (after a `tick`; `stop` does it for the loop). */
  releaseLease(): Promise<void>;
  /** Lets the pass in progress finish, then stops and gives up the lease. */
  stop(): Promise<void>;
}

export class Scheduler implements SchedulerHandle {
  /** The jobs with failed handlings (stored: HandlingFailureStore) and their counts, read at the start of a pass. */
  private failures: ReadonlyMap<string, number> = new Map();
  /** The lease holder the loop last saw instead of itself (logged once, not every interval). */
  private waitingFor: string | undefined;
  /** Passes in a row that found the database's disk full (0: it is not). */
  private fullPasses = 0;
  /** Since when each backend's agent has been polling (lost tasks are told from this). */
  private readonly agents = new AgentPresence();
  /** The active jobs and their tasks, kept from pass to pass: each pass reads only what was written since. */
  private readonly active = new ActiveSet();
  /** The lease term the ActiveSet was read in: a new term starts from a full read. */
  private activeTerm = 0;
  /** Each backend's flags and agent presence as the last pass saw them (src/scheduler/affected.ts). */
  private lastInputs: Map<string, string> | undefined;
  /** A job's handling failed, or must be tried again: the next pass handles every job. */
  private handleAll = false;
  /** The earliest time (Unix seconds) a job's handling falls due with nothing written (dueAtS). */
  private nextDueS = Number.NEGATIVE_INFINITY;
  private state: SchedulerState = "idle";
  /** A wake since the current pass began: the loop runs the next pass without waiting. */
  private woken = false;
  /** Ends the wait in progress between passes early (a stop or a wake). */
  private interruptWait: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  private readonly writes: JobWrites;
  readonly lease: SchedulerLease;

  constructor(private readonly deps: SchedulerDeps) {
    const { storage, clock, config } = deps;
    this.lease = new SchedulerLease(
      storage.lease,
      deps.holder ?? processHolder(),
      clock,
      config.scheduler.leaseTtlMs,
    );
    this.writes = new JobWrites({
      ...deps,
      guard: (stores) => this.lease.renewIn(stores),
      committed: () => this.lease.renewalCommitted(),
    });
  }

  get lifecycle(): SchedulerState {
    return this.state;
  }

  get holder(): string {
    return this.lease.holder;
  }

  /** Starts passes every loop interval until `stop`. */
  start(): void {
    if (this.state !== "idle") throw new Error(`the scheduler cannot start when ${this.state}`);
    this.state = "running";
    this.loop = this.runLoop();
  }

  /** Lets the pass in progress finish, then stops and gives up the lease, so another scheduler may take it at once. */
  async stop(): Promise<void> {
    if (this.state === "idle") {
      this.state = "stopped";
      return;
    }
    if (this.state !== "running") return this.loop;
    this.state = "stopping";
    this.interruptWait?.();
    await this.loop;
    await this.releaseLease();
    this.state = "stopped";
  }

  /** Cuts the wait before the next pass short; a pass running now is followed by one more at once. */
  wake(): void {
    if (this.state !== "running") return;
    this.woken = true;
    this.interruptWait?.();
  }

  /** Gives up the lease (after `rap tick`'s one pass; `stop` does it for the loop). */
  async releaseLease(): Promise<void> {
    try {
      await this.lease.release();
    } catch (error) {
      this.deps.log.warn({ err: error }, "could not release the scheduler lease: it expires by itself");
    }
  }

  private async runLoop(): Promise<void> {
    const { log } = this.deps;
    while (this.state === "running") {
      // A wake from here on calls for another pass: this one may have read the jobs before the change.
      this.woken = false;
      try {
        await this.tick();
        if (this.waitingFor !== undefined) log.info("took the scheduler lease: running passes");
        this.waitingFor = undefined;
      } catch (error) {
        if (error instanceof LeaseHeldError) {
          // Another scheduler runs passes: this one stands by, trying again while it waits.
          if (this.waitingFor !== error.lease.holder)
            log.info({ holder: error.lease.holder }, `${error.message}: standing by`);
          this.waitingFor = error.lease.holder;
        } else if (error instanceof LeaseLostError) log.warn(error.message);
        // Reading the active jobs itself failed (a locked or unreachable database): try again next interval.
        else log.error({ err: error }, "scheduler pass failed");
      }
      if (this.state !== "running") break;
      await this.waitForNextPass();
    }
  }

  /**
   * Waits out the loop interval, waking every third of the lease's time: the holder renews its lease, so that it
   * does not lapse between passes when JOB_LOOP_INTERVAL is longer than SCHEDULER_LEASE_TTL; a standby tries to
   * take it, and runs a pass at once when it does, so a dead holder is replaced within about 4/3 of the TTL
   * whatever the interval. A pass itself renews it only when it writes: one stalled past the TTL may lose it. A
   * `wake` or `stop` ends the wait at once.
   */
  private async waitForNextPass(): Promise<void> {
    const { config } = this.deps;
    const wakeMs = leaseWakeMs(config.scheduler.leaseTtlMs);
    let remainingMs = storageFullDelayMs(this.fullPasses, config.scheduler.loopIntervalMs);
    const waiting = () => remainingMs > 0 && this.state === "running" && !this.woken;
    while (waiting()) {
      const sliceMs = Math.min(remainingMs, wakeMs);
      await this.sleep(sliceMs);
      remainingMs -= sliceMs;
      if (!waiting()) return;
      try {
        await this.lease.acquire();
        // A standby that has just taken the lease runs its pass now.
        if (this.waitingFor !== undefined) return;
      } catch {
        // Held by another (a standby keeps waiting; a holder that lost it learns so at its next pass), or the
        // database did not answer: the next pass reports it.
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.interruptWait = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /**
   * One pass: every active job, then the scheduled tasks. A LeaseHeldError (nothing done) when another scheduler
   * holds the lease; a LeaseLostError when another took it during the pass (the pass stopped there). The report is
   * logged at debug level; the pass is timed, or counted as failed, in the metrics.
   */
  async tick(): Promise<PassReport> {
    const { metrics, log } = this.deps;
    const started = performance.now();
    let report: PassReport;
    try {
      report = await this.pass();
    } catch (error) {
      if (!(error instanceof LeaseHeldError)) metrics?.passFailed();
      throw error;
    }
    const seconds = (performance.now() - started) / 1000;
    metrics?.passFinished(seconds, report.failed);
    log.debug({ ...report, seconds }, "scheduler pass");
    return report;
  }

  private async pass(): Promise<PassReport> {
    const { storage, config, log, loopSpans } = this.deps;
    try {
      await this.lease.acquire();
    } catch (error) {
      // Taking the lease is a write: with the disk full, this pass is over before it starts.
      if (!(error instanceof StorageFullError)) throw error;
      this.noteStorage(error);
      return { jobs: 0, changed: 0, failed: 0, storageFull: true };
    }
    const spans = loopSpans?.pass();
    // As the reference's LOOP, the scheduled tasks are outside it.
    const handled = await this.handleJobs(spans)
      .catch((error: unknown) => {
        // What the pass knew may be out of step with the database: the next one reads it whole.
        this.active.reset();
        throw error;
      })
      .finally(() => spans?.end());
    const { jobs, report } = handled;
    let full = handled.full;
    loopSpans?.tick(jobs, nowNanos(this.deps.clock));
    if (!full) {
      try {
        const access = {
          read: storage,
          write: (work: (stores: Stores) => Promise<unknown>) => this.writes.guarded(work),
        };
        await updateScheduledTasks(access, config, this.deps.clock, this.deps.digests);
      } catch (error) {
        if (error instanceof LeaseLostError) throw error;
        if (error instanceof StorageFullError) full = error;
        else log.error({ err: error }, "could not update the scheduled database tasks");
      }
    }
    if (full) report.storageFull = true;
    this.noteStorage(full);
    return report;
  }

  /**
   * Reads what changed since the last pass and handles the jobs that needs (the part of a pass inside the LOOP
   * span): those src/scheduler/affected.ts picks, or none when nothing was written, no backend's flags or agent
   * changed and no job's time has come.
   */
  private async handleJobs(spans: LoopPassSpans | undefined) {
    const { storage, config } = this.deps;
    if (this.lease.term !== this.activeTerm) {
      this.active.reset();
      this.activeTerm = this.lease.term;
    }
    const written = await this.active.refresh(storage);
    const flags = await readFlags(storage);
    this.failures = await storage.failures.all();
    const nowS = nowSeconds(this.deps.clock);
    for (const backend of config.backends)
      this.agents.observe(backend, flags.get(backend)?.agentLastSeenAt ?? null, nowS);
    // Every active job, sorted, only when a TICK span or a full pass needs them.
    const jobs = () => this.active.jobs;
    const report: PassReport = { jobs: this.active.index.size, changed: 0, failed: 0 };
    const inputs = handlingInputs(config.backends, (backend) => flags.get(backend) ?? NO_FLAGS, this.agents);
    const changed = changedBackends(this.lastInputs, inputs);
    this.lastInputs = inputs;
    const handleAll = written === "all" || this.handleAll || this.failures.size > 0;
    if (!handleAll && written.size === 0 && changed.size === 0 && nowS < this.nextDueS)
      return { jobs, report, full: undefined };
    const context = PassContext.of(config, this.active, flags);
    const silenceS = config.scheduler.taskSilenceTimeoutS;
    const dueAt = (job: Job) => dueAtS(job, context, this.agents, silenceS);
    // Before the earliest time any job falls due, none is: no need to look at each.
    const lookedAtEvery = handleAll || nowS >= this.nextDueS;
    const selection: Affected = handleAll
      ? { jobs: jobs(), runningElsewhere: new Map() }
      : affectedJobs({
          index: this.active.index,
          written,
          changedBackends: changed,
          due: lookedAtEvery ? jobs().filter((job) => dueAt(job) <= nowS) : [],
          latestTask: (job) => context.latestTask(job),
        });
    let full: StorageFullError | undefined;
    try {
      await this.writes.batched(async () => {
        full = await this.handleInOrder(
          handlingOrder(selection.jobs, selection.runningElsewhere),
          context,
          spans,
          report,
        );
        await this.writes.commitBatch();
        await this.countUndoneWrites(context, report);
      });
    } catch (error) {
      // A batch that could not commit for want of room: as a write that could not (the jobs are read again).
      if (!(error instanceof StorageFullError)) throw error;
      full = error;
      this.active.reset();
    }
    this.handleAll = report.failed > 0 || full !== undefined || context.retryNeeded;
    // Only the jobs handled can have fallen due sooner (a job's time moves only when it, its task or its backend's
    // agent changes, and then it is handled): the earliest of theirs and the last, unless every job was looked at.
    let nextDueS = lookedAtEvery ? Number.POSITIVE_INFINITY : this.nextDueS;
    for (const job of lookedAtEvery ? jobs() : selection.jobs) nextDueS = Math.min(nextDueS, dueAt(job));
    this.nextDueS = nextDueS;
    return { jobs, report, full };
  }

  /**
   * Handles the jobs in the order given, each job's failure its own (counted, and the pass goes on); stops at a full
   * disk, which it returns.
   */
  private async handleInOrder(
    order: ReturnType<typeof handlingOrder>,
    context: PassContext,
    spans: LoopPassSpans | undefined,
    report: PassReport,
  ): Promise<StorageFullError | undefined> {
    let yieldedAt = performance.now();
    for (let step = order.next(); !step.done; ) {
      // A pass runs on promises that resolve at once (SQLite answers synchronously): without a turn of the event
      // loop now and then, a long pass would hold off the messages and timers waiting (a stop, a wake). A pass
      // being stopped ends early: the jobs it has not handled are as they were.
      if (performance.now() - yieldedAt >= YIELD_EVERY_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        yieldedAt = performance.now();
      }
      if (this.state === "stopping") break;
      const job = step.value;
      const before = job.statusCode;
      const handled = spans?.job(job);
      try {
        await this.handleJob(job, context);
        if (this.failures.has(job.id)) await this.writes.clearFailures(job);
        handled?.(job);
      } catch (error) {
        handled?.(job, error);
        // The database could not be reached, or a batch of earlier jobs' changes could not commit: not this job's
        // fault; the pass ends here and the loop retries it.
        if (
          error instanceof LeaseLostError ||
          error instanceof StorageUnavailableError ||
          this.writes.batchLost
        )
          throw error;
        // No write can succeed until there is room: not this job's fault, and no use trying the others.
        if (error instanceof StorageFullError) return error;
        if (!(error instanceof ConcurrentChange)) {
          report.failed += 1;
          await this.recordFailure(job, context, error);
        }
      }
      if (job.statusCode !== before) report.changed += 1;
      await this.writes.commitBatchIfDue();
      step = order.next(job.state === State.Running);
    }
    return undefined;
  }

  /**
   * Status writes left for a batch's commit (JobWrites.defer) that did not happen there: a change not made, and one
   * that failed counts as a handling that failed.
   */
  private async countUndoneWrites(context: PassContext, report: PassReport): Promise<void> {
    for (const { job, codeChanged, error } of this.writes.takeUndoneWrites()) {
      if (codeChanged) report.changed -= 1;
      if (error === undefined) continue;
      report.failed += 1;
      await this.recordFailure(job, context, error);
    }
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

  /** Counts the failed handling; at MAX_TASK_RETRIES in a row the job fails with internal_error. */
  private async recordFailure(job: Job, context: PassContext, error: unknown): Promise<void> {
    const bound = this.deps.config.scheduler.maxTaskRetries;
    try {
      await this.writes.transaction(context, async (tx) => {
        const failures = await tx.stores.failures.record(job.id);
        jobLog(this.deps.log, job).error({ err: error, failures, bound }, "error handling job");
        if (failures < bound) return;
        await tx.stores.failures.clear([job.id]);
        await this.writes.setCode(tx, job, {
          code: StatusCode.InternalError,
          message: StatusMessage.InternalError,
        });
      });
    } catch (again) {
      if (again instanceof LeaseLostError || this.writes.batchLost) throw again;
      jobLog(this.deps.log, job).error({ err: again }, "could not fail a job that keeps failing");
    }
  }

  /** The reference's decision procedure (§2.4): cancelled, paused, database maintenance, then by state. */
  private async handleJob(job: Job, context: PassContext): Promise<void> {
    const { log } = this.deps;
    const flags = context.flagsOf(job.backend);
    if (job.cancelled) {
      await this.writes.transaction(context, async (tx) => {
        await this.writes.cancelTask(tx, context, job);
        await this.writes.setCode(tx, job, {
          code: StatusCode.CancelledByUser,
          message: StatusMessage.CancelledByUser,
        });
      });
      return;
    }
    if (flags.paused && job.state === State.Pending) {
      // A job waiting for a reboot keeps saying so; its updated_at still shows it is looked after.
      const keep = job.statusCode === StatusCode.WaitingOnReboot;
      const code = keep ? job.statusCode : StatusCode.WaitingPaused;
      const message = keep ? (job.statusMessage ?? "") : StatusMessage.Paused;
      await this.writes.write(context, job, this.writes.transitionTo(job, code, message));
      return;
    }
    if (flags.dbMaintenance && job.requiresDb) {
      if (job.state !== State.Running) {
        const change = this.writes.transitionTo(
          job,
          StatusCode.WaitingDbMaintenance,
          StatusMessage.WaitingDbMaintenance,
        );
        await this.writes.write(context, job, change);
        return;
      }
      await this.writes.transaction(context, async (tx) => {
        jobLog(log, job).warn(`DB maintenance mode active, killing db job ${job.id}`);
        await this.writes.cancelTask(tx, context, job);
        await this.writes.setCode(tx, job, {
          code: StatusCode.WaitingDbMaintenance,
          message: StatusMessage.WaitingDbMaintenance,
        });
      });
      return;
    }
    if (job.state === State.Pending) await this.handlePending(job, context);
    else await this.handleRunning(job, context);
  }

  private async handlePending(job: Job, context: PassContext): Promise<void> {
    const { config } = this.deps;
    const dependencies = job.waitForJobIds.flatMap((id) => {
      const state = context.stateOf(id);
      return state === undefined ? [] : [state];
    });
    const wait = (code: StatusCode, message: string) =>
      this.writes.write(context, job, this.writes.transitionTo(job, code, message));
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
    const image = shlexSplit(job.runCommand)[0] ?? "";
    // The batch's transaction, which other writers wait for, is not held open while a registry is asked.
    if (this.deps.digests.known?.(image) === false) await this.writes.commitBatch();
    try {
      imageSha = await this.deps.digests.resolve(image);
    } catch (error) {
      // The registry could not say which image to run: the job waits, saying why, and is tried next pass.
      if (!(error instanceof ImageDigestError)) throw error;
      context.retryNeeded = true;
      await this.writes.write(context, job, annotate(job, error.message, nowNanos(this.deps.clock)));
      return;
    }
    await this.writes.start(
      context,
      job,
      { code: StatusCode.Initiated, message: StatusMessage.Initiated },
      async (stores) => {
        const taskId = runJobTaskId(job.id, (context.tasks.get(job.id)?.length ?? 0) + 1);
        const definition = jobDefinition(job, config.scheduler, {
          taskId,
          imageSha,
          inputJobIds: await context.inputJobIds(stores, job),
        });
        return this.writes.newTask(job, taskId, TaskType.RunJob, { ...definition });
      },
    );
  }

  private async handleRunning(job: Job, context: PassContext): Promise<void> {
    const { config } = this.deps;
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
      await this.writes.write(
        context,
        job,
        this.writes.transitionTo(job, code, job.statusMessage ?? "", task.agentTimestampNs),
      );
      return;
    }
    const results = task.agentResults ?? {};
    const outcome = outcomeOf(results, job.requiresDb);
    await this.writes.transaction(context, async (tx) => {
      if (outcome.kind === "final") {
        await this.writes.setCode(tx, job, {
          code: outcome.code,
          message: outcome.message,
          eventNs: task.agentTimestampNs,
          results,
        });
      } else if (outcome.fatal) {
        await this.writes.setCode(tx, job, {
          code: StatusCode.JobError,
          message: StatusMessage.JobError,
          results,
        });
      } else if ((context.tasks.get(job.id)?.length ?? 0) >= config.scheduler.maxTaskRetries) {
        jobLog(this.deps.log, job).error(
          { error: results.error },
          "the agent kept failing to run this job: giving up",
        );
        await this.writes.setCode(tx, job, {
          code: StatusCode.InternalError,
          message: StatusMessage.InternalError,
          results,
        });
      } else {
        await this.writes.setCode(tx, job, {
          code: StatusCode.WaitingOnNewTask,
          message: StatusMessage.WaitingOnNewTask,
        });
      }
    });
  }

  /** Fails a running job whose task will never report (lostTaskMessage), stopping the task if it is still served. */
  private async failLostTask(job: Job, taskId: string, message: string, context: PassContext): Promise<void> {
    jobLog(this.deps.log, job).error(
      { task: taskId, reason: message },
      "the agent lost this job's task: failing the job",
    );
    await this.writes.transaction(context, async (tx) => {
      await this.writes.cancelTask(tx, context, job);
      await this.writes.setCode(tx, job, { code: StatusCode.InternalError, message });
    });
  }
}
