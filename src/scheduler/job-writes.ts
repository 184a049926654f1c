/**
 * How the scheduler and the operator commands that act like it (prepare-for-reboot) change jobs: every status
 * change through `transition`, written guarded by the status the job was read with, in transactions whose status
 * changes reach the pass and the observers (status log, job spans) only once they have committed.
 */
import type { Logger } from "pino";
import type { Config } from "../config/index.js";
import {
  type GuardedStatus,
  type NewTask,
  type OpenTransaction,
  type Storage,
  StorageFullError,
  StorageUnavailableError,
  type Stores,
  type TaskProgress,
} from "../db/storage.js";
import { type Clock, nowNanos, nowSeconds } from "../domain/clock.js";
import type { Job } from "../domain/job.js";
import type { JobObserver } from "../domain/job-observer.js";
import type { StatusCode } from "../domain/status.js";
import { cancelJobTaskId, TaskType } from "../domain/task.js";
import { type JobStatus, statusOf, type Transition, transition } from "../domain/transition.js";
import { jobDefinition, taskAttributes } from "./definition.js";
import { LeaseLostError } from "./lease.js";
import type { PassContext } from "./pass-context.js";

/** A status write: the new code and message, the agent's time of the change and its results when it gave them. */
export interface StatusWrite {
  code: StatusCode;
  message: string;
  eventNs?: number | null;
  results?: Record<string, unknown>;
}

/** One transaction: its stores, and the status writes made in it (told once it commits). */
export interface JobTransaction {
  readonly stores: Stores;
  readonly written: StatusWritten[];
}

interface StatusWritten {
  job: Job;
  change: Exclude<Transition, { kind: "unchanged" }>;
  results?: Record<string, unknown> | undefined;
}

/** Another writer changed the job since it was read: leave it for the next pass. */
export class ConcurrentChange extends Error {}

/**
 * A status write left for a batch's commit that did not happen there: refused (another writer changed the job after
 * the pass read it; no error) or failed on its own (the error). The pass's view of the job is as it was read.
 */
export interface UndoneWrite {
  job: Job;
  /** Whether the write would have changed the job's status code (a pass counts those it made). */
  codeChanged: boolean;
  error?: unknown;
}

/**
 * A batch's transaction commits once it is this old, or has had as many steps as its database wants
 * (OpenTransaction.maxSteps). Meanwhile a write of another thread or process (an agent's update, a create) waits
 * for it, so it is kept short.
 */
const BATCH_MAX_MS = 20;

/** A batch commits once this many status writes wait in it (one statement's worth), if not before. */
const MAX_PENDING_WRITES = 500;

/** A status write waiting for its batch's commit, and how to undo the pass's view of it if it does not happen. */
interface PendingWrite {
  readonly write: GuardedStatus;
  readonly written: StatusWritten;
  /** The job's status before, and the task the pass was shown (a start's). */
  readonly before: JobStatus;
  readonly shownTask: TaskProgress | undefined;
  readonly context: PassContext;
  /** Whether to clear the job's count of failed handlings once it is written (JobWrites.clearFailures). */
  clearFailures: boolean;
}

/** The open transaction of a batch, and what its steps changed, told once it commits. */
interface Batch {
  readonly transaction: OpenTransaction;
  readonly openedAt: number;
  steps: number;
  readonly told: StatusWritten[];
  /** Status writes left to write together before the commit (JobWrites.start, JobWrites.write). */
  readonly pending: PendingWrite[];
}

/** A task as the pass sees it once inserted: active, nothing reported yet. */
function activeTask(task: NewTask): TaskProgress {
  return {
    ...task,
    active: true,
    finishedAt: null,
    agentStage: null,
    agentComplete: false,
    agentResults: null,
    agentTimestampNs: null,
    agentUpdatedAt: null,
  };
}

/** Whether an error writing a status is the job's own (not the database gone, full, or the lease lost). */
function mayFailAlone(error: unknown): boolean {
  return !(
    error instanceof LeaseLostError ||
    error instanceof StorageUnavailableError ||
    error instanceof StorageFullError
  );
}

async function clearFailuresOfWritten(
  stores: Stores,
  pending: readonly PendingWrite[],
  written: ReadonlySet<string>,
): Promise<void> {
  const ids = pending
    .filter(({ write, clearFailures }) => clearFailures && written.has(write.jobId))
    .map(({ write }) => write.jobId);
  if (ids.length > 0) await stores.failures.clear(ids);
}

/** Whether the batch has had its time (by the scheduler's clock; one that went back counts as time up) or steps. */
function batchIsDue(batch: Batch, nowMs: number): boolean {
  const age = nowMs - batch.openedAt;
  return batch.steps >= batch.transaction.maxSteps || age >= BATCH_MAX_MS || age < 0;
}

export interface JobWritesDeps {
  storage: Storage;
  config: Config;
  clock: Clock;
  log: Logger;
  observers?: readonly JobObserver[] | undefined;
  /**
   * Runs first in every transaction (a batch's, once) and throws when it must not commit (the scheduler: its lease
   * is lost).
   * Operator commands have none: their writes are guarded per job, as a cancel's are.
   */
  guard?: ((stores: Stores) => Promise<void>) | undefined;
  /** Told when a transaction the guard ran in has committed. */
  committed?: (() => void) | undefined;
}

export class JobWrites {
  /** Set while `batched` runs: transactions are then steps of a shared one. */
  private batching = false;
  private batch: Batch | undefined;
  /** Why a batch of the running `batched` could not commit. */
  private lostBatch: unknown;
  /** The status writes of the running `batched` that did not happen when written. */
  private undoneWrites: UndoneWrite[] = [];

  constructor(private readonly deps: JobWritesDeps) {}

  /**
   * Runs `work` in one transaction. The status writes it makes reach the pass (the job, the workers in use) once it
   * has committed, or inside `batched` once its step has; the observers once the transaction has committed: a change
   * that rolls back was never made, so it is neither logged nor traced.
   */
  async transaction(context: PassContext, work: (tx: JobTransaction) => Promise<void>): Promise<void> {
    const written: StatusWritten[] = [];
    await this.guarded((stores) => work({ stores, written }));
    for (const { job, change } of written) {
      const previous = job.state;
      Object.assign(job, change.status);
      context.recordState(job, previous);
    }
    if (this.batch) this.batch.told.push(...written);
    else this.tell(written);
  }

  /** Runs `work` in one transaction behind the guard (the scheduler's lease), with no status writes to tell. */
  async guarded<T>(work: (stores: Stores) => Promise<T>): Promise<T> {
    if (this.batching) {
      const batch = await this.openBatch();
      batch.steps += 1;
      return batch.transaction.step(work);
    }
    const result = await this.deps.storage.transaction(async (stores) => {
      await this.deps.guard?.(stores);
      return work(stores);
    });
    this.deps.committed?.();
    return result;
  }

  /**
   * Runs `work` (a pass's handling of its jobs) with its transactions batched: each a savepoint of a transaction
   * shared with the ones before it, committed every BATCH_MAX_MS or maxSteps and at the end. A step that
   * fails rolls back alone. When a batch cannot commit, the changes its steps made to the pass's jobs were never
   * made: the error is thrown, and the caller must read the jobs again.
   */
  async batched(work: () => Promise<void>): Promise<void> {
    this.batching = true;
    this.lostBatch = undefined;
    this.undoneWrites = [];
    try {
      await work();
      await this.commitBatch();
    } catch (error) {
      const batch = this.batch;
      this.batch = undefined;
      await batch?.transaction.rollback().catch(() => undefined);
      // Nothing of the batch was written, and the caller reads every job again.
      this.undoneWrites = [];
      throw error;
    } finally {
      this.batching = false;
    }
    // A batch that failed to commit mid-pass, its error taken by a caller that went on (it should not have).
    if (this.lostBatch !== undefined) throw this.lostBatch;
  }

  /**
   * Whether a batch of the running `batched` could not commit: the pass's view of its jobs is then wrong (changes
   * it applied were never made), so nothing more may be decided from it.
   */
  get batchLost(): boolean {
    return this.lostBatch !== undefined;
  }

  /**
   * The status writes of the running `batched` that did not happen at the commits so far. The pass's view of their
   * jobs is back to what it read; the caller counts them.
   */
  takeUndoneWrites(): UndoneWrite[] {
    return this.undoneWrites.splice(0);
  }

  /** Commits the batch's transaction so far (before waiting on something slow, such as a registry). */
  async commitBatch(): Promise<void> {
    const batch = this.batch;
    if (!batch) return;
    this.batch = undefined;
    try {
      await this.writePending(batch).catch(async (error: unknown) => {
        await batch.transaction.rollback().catch(() => undefined);
        throw error;
      });
      await batch.transaction.commit();
      this.deps.committed?.();
    } catch (error) {
      this.lostBatch ??= error;
      throw error;
    }
    this.tell(batch.told);
  }

  /**
   * Commits the batch once it is old or full. Called after each job a pass handles, so that a long run of jobs that
   * write nothing (most of a pass over many jobs) does not keep the transaction open meanwhile.
   */
  async commitBatchIfDue(): Promise<void> {
    if (this.batch && batchIsDue(this.batch, this.deps.clock.nowMs())) await this.commitBatch();
  }

  /** The batch's open transaction, or a new one (renewing the lease), after committing one that is old or full. */
  private async openBatch(): Promise<Batch> {
    const open = this.batch;
    if (open && !batchIsDue(open, this.deps.clock.nowMs())) return open;
    await this.commitBatch();
    const transaction = await this.deps.storage.openTransaction();
    // Its age counts from when it holds the database (SQLite's write lock), the guard's renewal included.
    const openedAt = this.deps.clock.nowMs();
    try {
      await this.deps.guard?.(transaction.stores);
    } catch (error) {
      await transaction.rollback().catch(() => undefined);
      throw error;
    }
    this.batch = { transaction, openedAt, steps: 0, told: [], pending: [] };
    return this.batch;
  }

  /**
   * Starts a job: cancels a task left active (an interrupted reboot), inserts its new task (`task`, made in the
   * transaction) and moves it to `write`'s code; the pass sees the task and the job started at once. Inside
   * `batched` the task and the status write wait for the batch's commit (see `defer`).
   */
  async start(
    context: PassContext,
    job: Job,
    write: StatusWrite,
    task: (stores: Stores) => Promise<NewTask>,
  ): Promise<void> {
    if (!this.batching || context.latestTask(job)?.active) {
      await this.transaction(context, async (tx) => {
        await this.cancelTask(tx, context, job);
        const created = await task(tx.stores);
        await tx.stores.tasks.insert(created);
        await this.setCode(tx, job, write);
        context.addTask(activeTask(created));
      });
      return;
    }
    const batch = await this.openBatch();
    const created = await task(batch.transaction.stores);
    const change = this.transitionTo(job, write.code, write.message, write.eventNs);
    if (change.kind === "unchanged") throw new Error(`starting job ${job.id} changes nothing`);
    await this.defer(batch, context, job, change, created);
  }

  /**
   * Leaves a status write (and a start's task) for the batch's commit, where every one waiting is written in two
   * statements (JobStore.applyStatuses); the pass sees the change at once. One the database refuses there (the job
   * changed meanwhile) or that fails is undone in the pass's view (`takeUndoneWrites`). Only writes that leave the
   * job in its state, and starts, are left so: the pass's later decisions depend on no other (a job waits on a
   * started one as on a pending one), so none is made on a change that may not happen.
   */
  private async defer(
    batch: Batch,
    context: PassContext,
    job: Job,
    change: Exclude<Transition, { kind: "unchanged" }>,
    task?: NewTask,
  ): Promise<void> {
    const before = statusOf(job);
    const shownTask = task && activeTask(task);
    // Told in the order the pass decided, with the batch's other changes, unless it does not happen.
    const written: StatusWritten = { job, change };
    batch.told.push(written);
    batch.pending.push({
      write: {
        jobId: job.id,
        expected: { statusCode: job.statusCode, cancelled: job.cancelled },
        status: change.status,
        task,
      },
      written,
      before,
      shownTask,
      context,
      clearFailures: false,
    });
    Object.assign(job, change.status);
    context.recordState(job, before.state);
    if (shownTask) context.addTask(shownTask);
    if (batch.pending.length >= MAX_PENDING_WRITES) await this.commitBatch();
  }

  /**
   * Clears the job's count of failed handlings once what its handling wrote is written: with its status write when
   * that waits in the batch (one refused or failed then must not have cleared it), else at once.
   */
  async clearFailures(job: Job): Promise<void> {
    const pending = this.batch?.pending.find(({ write }) => write.jobId === job.id);
    if (pending) pending.clearFailures = true;
    else await this.guarded((stores) => stores.failures.clear([job.id]));
  }

  /** Writes the batch's waiting status writes in its transaction: all at once, or one by one if that fails. */
  private async writePending(batch: Batch): Promise<void> {
    const pending = batch.pending.splice(0);
    if (pending.length === 0) return;
    let written: Set<string>;
    const failed = new Map<PendingWrite, unknown>();
    try {
      written = await batch.transaction.step(async (stores) => {
        const ids = await stores.jobs.applyStatuses(pending.map(({ write }) => write));
        await clearFailuresOfWritten(stores, pending, ids);
        return ids;
      });
    } catch (error) {
      if (!mayFailAlone(error)) throw error;
      this.deps.log.warn(
        { err: error, jobs: pending.length },
        "writing statuses together failed: one by one",
      );
      written = await this.writeEachAlone(batch, pending, failed);
    }
    const undone = new Set<StatusWritten>();
    for (const pendingWrite of pending) {
      if (written.has(pendingWrite.write.jobId)) continue;
      undone.add(pendingWrite.written);
      this.undo(pendingWrite, failed.get(pendingWrite));
    }
    if (undone.size > 0) {
      const told = batch.told.filter((change) => !undone.has(change));
      batch.told.splice(0, batch.told.length, ...told);
    }
  }

  /** Each status write in a savepoint of its own: one that fails is left out, its error put in `failed`. */
  private async writeEachAlone(
    batch: Batch,
    pending: readonly PendingWrite[],
    failed: Map<PendingWrite, unknown>,
  ): Promise<Set<string>> {
    const written = new Set<string>();
    for (const pendingWrite of pending) {
      const { write } = pendingWrite;
      try {
        await batch.transaction.step(async (stores) => {
          if (!(await stores.jobs.applyStatus(write.jobId, write.expected, write.status)))
            throw new ConcurrentChange(write.jobId);
          if (write.task) await stores.tasks.insert(write.task);
          await clearFailuresOfWritten(stores, [pendingWrite], new Set([write.jobId]));
        });
        written.add(write.jobId);
      } catch (error) {
        if (!mayFailAlone(error)) throw error;
        if (!(error instanceof ConcurrentChange)) failed.set(pendingWrite, error);
      }
    }
    return written;
  }

  /** The pass's view of the job back to what it read: its status, the workers it uses, its tasks. */
  private undo({ written: { job }, before, shownTask, context }: PendingWrite, error: unknown): void {
    const codeChanged = job.statusCode !== before.statusCode;
    this.undoneWrites.push(error === undefined ? { job, codeChanged } : { job, codeChanged, error });
    const previous = job.state;
    Object.assign(job, before);
    context.recordState(job, previous);
    if (shownTask) context.removeTask(shownTask);
  }

  /**
   * A status write with nothing else in its transaction: none at all when nothing changes, which is what most jobs
   * of most passes come to (a job still waiting, a stage already recorded). A transaction that writes nothing would
   * still take the write lock and cost two statements per job.
   */
  async write(context: PassContext, job: Job, change: Transition): Promise<void> {
    if (change.kind === "unchanged") return;
    if (this.batching && change.status.state === job.state)
      return this.defer(await this.openBatch(), context, job, change);
    await this.transaction(context, (tx) => this.apply(tx, job, change));
  }

  /** Moves the job to a new code inside the transaction (guarded: see `apply`). */
  setCode(tx: JobTransaction, job: Job, write: StatusWrite): Promise<void> {
    return this.apply(
      tx,
      job,
      this.transitionTo(job, write.code, write.message, write.eventNs),
      write.results,
    );
  }

  transitionTo(job: Job, code: StatusCode, message: string, eventNs?: number | null): Transition {
    return transition(job, code, message, nowNanos(this.deps.clock), eventNs);
  }

  /** Stops the job's RUNJOB task if it is active: it becomes inactive and a CANCELJOB task tells the agent (§4.2). */
  async cancelTask(tx: JobTransaction, context: PassContext, job: Job): Promise<void> {
    const runTask = context.latestTask(job);
    if (!runTask?.active) return;
    const now = nowSeconds(this.deps.clock);
    if (!(await tx.stores.tasks.deactivate(runTask.id, now))) return;
    runTask.active = false;
    runTask.finishedAt = now;
    const taskId = cancelJobTaskId(runTask.id);
    const definition = jobDefinition(job, this.deps.config.scheduler, {
      taskId,
      imageSha: null,
      inputJobIds: await context.inputJobIds(tx.stores, job),
    });
    await tx.stores.tasks.insert(this.newTask(job, taskId, TaskType.CancelJob, { ...definition }));
  }

  newTask(job: Job, id: string, type: TaskType, definition: Record<string, unknown>): NewTask {
    return {
      id,
      backend: job.backend,
      type,
      jobId: job.id,
      definition,
      attributes: taskAttributes(job),
      createdAt: nowSeconds(this.deps.clock),
    };
  }

  /** Writes a transition guarded by the status the job was read with; the pass learns of it once committed. */
  private async apply(
    tx: JobTransaction,
    job: Job,
    change: Transition,
    results?: Record<string, unknown>,
  ): Promise<void> {
    if (change.kind === "unchanged") return;
    const expected = { statusCode: job.statusCode, cancelled: job.cancelled };
    if (!(await tx.stores.jobs.applyStatus(job.id, expected, change.status)))
      throw new ConcurrentChange(job.id);
    tx.written.push({ job, change, results });
  }

  /** Tells the observers of committed changes. */
  private tell(told: readonly StatusWritten[]): void {
    for (const { job, change, results } of told) {
      if (change.kind !== "changed") continue;
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
