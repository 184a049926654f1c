/**
 * Storage by role: the small interfaces every service above src/db uses, so none of them knows the database's
 * dialect or its side channels. SQLite implements them today (src/db/sqlite-storage.ts); PostgreSQL will implement
 * the same interfaces and pass the same conformance tests.
 *
 * Rules every implementation keeps: writes change only the columns they mean to change; status writes are guarded
 * (`applyStatus` answers false when the job moved meanwhile); a task id is unique (a job is never started twice);
 * `transaction` runs its function atomically; `withWorkspaceLock` serialises creates for one workspace.
 */
import type { FlagValue } from "../domain/flags.js";
import type { Job } from "../domain/job.js";
import type { State } from "../domain/status.js";
import type { Task, TaskType } from "../domain/task.js";
import type { CancelRequest, JobStatus } from "../domain/transition.js";
import type { ActiveJobCount, ExistingRap, ExpectedStatus, JobFilter } from "./queries/jobs.js";
import type { Lease } from "./queries/scheduling.js";
import type { GuardedStatus } from "./queries/status-writes.js";
import type { ActiveTaskText, AgentUpdate, NewTask, TaskProgress } from "./queries/tasks.js";

export type { ActiveJobCount, ExistingRap, ExpectedStatus, JobFilter } from "./queries/jobs.js";
export type { Lease } from "./queries/scheduling.js";
export type { GuardedStatus } from "./queries/status-writes.js";
export type { ActiveTaskText, AgentUpdate, NewTask, TaskProgress } from "./queries/tasks.js";

export interface JobStore {
  insert(jobs: readonly Job[]): Promise<void>;
  get(id: string): Promise<Job | undefined>;
  /** Jobs matching every field the filter gives, newest first, at most `filter.limit` (operator listings). */
  list(filter: JobFilter): Promise<Job[]>;
  /** The first job's repo, workspace and commit of a rap_id on any backend, and its job count. */
  existingRap(rapId: string): Promise<ExistingRap | undefined>;
  /** The latest uncancelled job of each action in a workspace (create's rerun decisions). */
  workspaceState(backend: string, workspace: string): Promise<Job[]>;
  /** The id of the latest uncancelled job of each of these actions in a workspace (a task's input_job_ids). */
  latestJobByAction(
    backend: string,
    workspace: string,
    actions: readonly string[],
  ): Promise<Map<string, string>>;
  actionsOfRap(rapId: string, backends: readonly string[]): Promise<Set<string>>;
  /** Writes a cancel request on the unfinished jobs of these actions; returns how many. */
  markCancelled(
    rapId: string,
    actions: readonly string[],
    backends: readonly string[],
    request: CancelRequest,
  ): Promise<number>;
  forRaps(rapIds: readonly string[], backends: readonly string[]): Promise<Job[]>;
  /** Pending and running jobs of every backend, in insertion order (the operator's view; the scheduler's is `changes`). */
  active(): Promise<Job[]>;
  running(backend: string): Promise<Job[]>;
  /** How many pending and running jobs each backend has, by state and status code (`/metrics`, every scrape). */
  activeCounts(): Promise<ActiveJobCount[]>;
  states(ids: readonly string[]): Promise<Map<string, State>>;
  /** Guarded status write (src/domain/transition.ts); false when the job no longer has the expected status. */
  applyStatus(id: string, expected: ExpectedStatus, status: JobStatus): Promise<boolean>;
  /**
   * Many jobs' guarded status writes (as `applyStatus`) and, for each job started whose write went through, the
   * insert of its task (in the order given). Returns the ids of the jobs written; a job that no longer has the
   * expected status is left as it is, with no task. Two statements for any number of jobs.
   */
  applyStatuses(writes: readonly GuardedStatus[]): Promise<Set<string>>;
}

export interface TaskStore {
  insert(task: NewTask): Promise<void>;
  /**
   * Inserts a scheduled task (DBSTATUS, DBDATACHECK) unless its backend already has an active one of its type:
   * insert-or-ignore on a unique key, so schedulers racing create one. Returns whether it was inserted.
   */
  insertScheduled(task: NewTask): Promise<boolean>;
  get(id: string): Promise<Task | undefined>;
  /** Each job's RUNJOB tasks, oldest first, without their definitions. */
  runJobTasksOf(jobIds: readonly string[]): Promise<Map<string, TaskProgress[]>>;
  /** A backend's active tasks with their JSON columns as stored, DBSTATUS first. */
  activeText(backend: string): Promise<ActiveTaskText[]>;
  /**
   * A value that changes whenever what `activeText` answers for the backend changes, written by any process; cheap
   * whatever the number of tasks.
   */
  activeStamp(backend: string): Promise<string>;
  /** The ids of a backend's active tasks of one type (no finished task is read). */
  activeIdsOfType(backend: string, type: TaskType): Promise<string[]>;
  /** When a backend's task of this type last finished (Unix seconds); null when none has. */
  lastFinishedOfType(backend: string, type: TaskType): Promise<number | null>;
  /** Ends an active task; false when it was not active. */
  deactivate(id: string, finishedAt: number | null): Promise<boolean>;
  /** Records an agent's report; false when the backend has no such task. */
  recordAgentUpdate(backend: string, id: string, update: AgentUpdate, now: number): Promise<boolean>;
}

/** Where a ChangeFeed read ended: the next read asks for the writes from here on. */
export type ChangeMark = number;

/** A job and its insertion order (`seq`: ties in the scheduler's order are broken by it). */
export interface SequencedJob {
  job: Job;
  seq: number;
}

/** A ChangeFeed answer. */
export interface SchedulerChanges {
  /** Where this read ended: pass it to the next. */
  mark: ChangeMark;
  /** A full read: `jobs` are all the active jobs, and what the caller knew before is to be dropped. */
  full: boolean;
  /**
   * Full: every pending and running job. Otherwise every job written since the mark asked for, whatever its state
   * now (a job that finished leaves the active set). In insertion order.
   */
  jobs: SequencedJob[];
  /**
   * Every RUNJOB task of the active jobs in `jobs`, and otherwise every RUNJOB task written since the mark asked
   * for (of any job), without their definitions.
   */
  tasks: TaskProgress[];
}

/**
 * What the scheduler reads each pass (issue 18): only the jobs and tasks written since its previous read. Every
 * write of a job or task, by any process and whatever it runs, is numbered by the database (migration 0007), and
 * the contract every implementation keeps is:
 *
 * - `read()` is a full read; `read(mark)` answers every job and RUNJOB task written since the read that answered
 *   `mark`, including writes of transactions that were still running then, whatever order concurrent transactions
 *   commit in. A row may come again in a later read (at least once, never missed);
 * - a mark the database cannot answer from (it went back: restored from a copy) gives a full read.
 */
export interface ChangeFeed {
  read(since?: ChangeMark): Promise<SchedulerChanges>;
}

/** Part of a `POST rap/status/` answer: some RAPs' jobs, rendered by the database side. */
export interface RenderedJobs {
  /**
   * The jobs' JSON objects, comma-separated, as ASCII bytes: each with the API's 15 keys in its order
   * (reference/scenarios.md §0.6), JSON values copied as stored.
   */
  json: Uint8Array;
  /** The rap ids that have jobs in `json`. */
  rapIds: string[];
  /** Stored times that could not be shown (shown as null), as stored: for the caller to log once. */
  unreadableTimes: string[];
}

/**
 * The status reader: the jobs part of `POST rap/status/` answers, read and rendered in one place, at a cost that does
 * not grow with the number of jobs (DESIGN DECISIONS 11). An implementation may divide a large request (SQLite:
 * between worker threads with their own connections).
 */
export interface StatusReader {
  /** The jobs of these RAPs (unique ids, sorted) on these backends, in parts in rap id order, each RAP's jobs in creation order. */
  read(rapIds: readonly string[], backends: readonly string[]): Promise<RenderedJobs[]>;
}

export interface FlagStore {
  get(backend: string, id: string): Promise<FlagValue | undefined>;
  /** A backend's flags: all, or the named ones. */
  list(backend: string, ids?: readonly string[]): Promise<FlagValue[]>;
  /** Every flag of every backend (one read per scheduler pass). */
  all(): Promise<FlagValue[]>;
  /** Sets a flag; the same value again keeps its timestamp. Returns the flag as stored. */
  set(backend: string, id: string, value: string | null, timestamp: number): Promise<FlagValue>;
  /** A reader of the named flags of every backend, prepared once for a hot endpoint. */
  reader(ids: readonly string[]): () => Promise<readonly FlagValue[]>;
}

/**
 * The scheduler lease (DESIGN DECISIONS 17): at most one scheduler runs passes at a time, whichever process it is in
 * (`rap controller`, `rap tick`, replicas). The contract every implementation keeps:
 *
 * - `acquire` takes the lease for `holder` (an id naming its process: host and pid) for `ttlMs` when it is free,
 *   expired or already `holder`'s, and renews it then; it answers who holds it afterwards and until when.
 * - `renew`, called inside each transaction of a pass before its writes, extends the lease and answers false when
 *   `holder` no longer holds it; the caller must then let that transaction roll back and stop the pass. SQLite
 *   writes the lease row in that very transaction, so a write of a scheduler that has lost the lease never
 *   commits. An implementation that holds the lease outside the transaction (a PostgreSQL advisory lock on a
 *   dedicated connection) answers false once that connection is lost or the lease's time is up, whichever first:
 *   a holder that cannot renew stops scheduling before its lease expires.
 * - `release` gives it up (a clean shutdown, the end of `rap tick`), so another may take it at once; a holder that
 *   dies without releasing leaves it to expire, `ttlMs` after its last renewal.
 * - `current` reads the lease as it stands, expired or not (undefined when free), writing nothing: what `/readyz`
 *   answers, and a query that tells whether the database answers.
 *
 * Times are Unix milliseconds from the caller's clock: holders' clocks must agree to well within `ttlMs`.
 */
export interface LeaseStore {
  acquire(holder: string, nowMs: number, ttlMs: number): Promise<Lease>;
  renew(holder: string, nowMs: number, ttlMs: number): Promise<boolean>;
  release(holder: string): Promise<void>;
  current(): Promise<Lease | undefined>;
}

/** Each job's count of failed handlings in a row (MAX_TASK_RETRIES): shared by every scheduler, kept on restart. */
export interface HandlingFailureStore {
  /** Every job that has failed handlings, with their count. */
  all(): Promise<Map<string, number>>;
  /** One more failed handling; returns the job's count. */
  record(jobId: string): Promise<number>;
  clear(jobIds: readonly string[]): Promise<void>;
}

/**
 * A write failed because the database's disk is full: nothing is wrong with what was written, and nothing can be
 * written until there is room (SQLite's SQLITE_FULL). Callers wait and try again rather than blame the data.
 */
export class StorageFullError extends Error {
  readonly code = "STORAGE_FULL";
  constructor(options?: ErrorOptions) {
    const cause = options?.cause instanceof Error ? `: ${options.cause.message}` : "";
    super(`the database's disk is full${cause}`, options);
    this.name = "StorageFullError";
  }
}

/**
 * The database could not be reached: the connection was lost or refused, or the server ended the session (a network
 * cut, a restart, a failover). Nothing is wrong with what was asked, and the next attempt may succeed on a new
 * connection: callers try again later rather than blame the data, as for StorageFullError.
 */
export class StorageUnavailableError extends Error {
  readonly code = "STORAGE_UNAVAILABLE";
  constructor(options?: ErrorOptions) {
    const cause = options?.cause instanceof Error ? `: ${options.cause.message}` : "";
    super(`the database could not be reached${cause}`, options);
    this.name = "StorageUnavailableError";
  }
}

/** The stores, bound to one transaction. */
export interface Stores {
  readonly jobs: JobStore;
  readonly changes: ChangeFeed;
  readonly tasks: TaskStore;
  readonly flags: FlagStore;
  readonly lease: LeaseStore;
  readonly failures: HandlingFailureStore;
}

/** A transaction held open across steps (./open-transaction.ts); it ends with `commit` or `rollback`. */
export interface OpenTransaction {
  readonly stores: Stores;
  /**
   * How many steps it should take before it commits: PostgreSQL gives each step that writes a subtransaction id, of
   * which a transaction keeps 64 where every other session's snapshot finds them (past that, every session on the
   * server slows); SQLite has no such limit.
   */
  readonly maxSteps: number;
  /** Runs `work` as a savepoint: when it throws, its writes alone roll back, and the error is rethrown. */
  step<T>(work: (stores: Stores) => Promise<T>): Promise<T>;
  /** Commits every step that succeeded; on failure (or after a step the database could not undo alone) it rolls
   * back and throws why. */
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

export interface Storage extends Stores {
  readonly status: StatusReader;
  /** Runs `work` atomically: every write through `stores` commits together or not at all. */
  transaction<T>(work: (stores: Stores) => Promise<T>): Promise<T>;
  /** A transaction for many steps, each of which may fail alone (the scheduler's batches of job changes). */
  openTransaction(): Promise<OpenTransaction>;
  /**
   * Runs `work` atomically while no other create for this workspace runs (DESIGN DECISIONS 8): the create
   * pipeline reads the workspace's jobs, plans and inserts inside it.
   */
  withWorkspaceLock<T>(backend: string, workspace: string, work: (stores: Stores) => Promise<T>): Promise<T>;
  /**
   * A value that changes whenever the database may have changed (any process); undefined when it cannot be told.
   * An answer computed from the database may be kept while it stays the same.
   */
  changeStamp(): string | undefined;
  /** Closes the database and whatever reads it on this storage's behalf (status workers). */
  close(): Promise<void>;
}
