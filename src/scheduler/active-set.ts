/**
 * The scheduler's copy of what its passes read (issue 18): the active jobs (indexed: ./job-index.ts), their RUNJOB
 * tasks and the states of the finished jobs they wait on, kept from pass to pass and brought up to date from the
 * ChangeFeed (src/db/storage.ts), which answers only the jobs and tasks written since the previous read. A steady
 * pass over 10,000 active jobs so reads a few empty ranges instead of every row, and bringing the copy up to date
 * costs what was written, not what is active.
 *
 * The copy holds nothing but rows as the database last showed them (and the pass's own committed writes, which the
 * next read brings again), so it is right whoever wrote meanwhile: another process's cancel, `rap tick`, another
 * replica's create, an agent's update. `reset` drops it (a new lease term, a pass that failed): the next read is a
 * full one.
 */
import type { ChangeMark, Stores, TaskProgress } from "../db/storage.js";
import type { Job } from "../domain/job.js";
import { isActiveState, type State } from "../domain/status.js";
import { JobIndex } from "./job-index.js";

/** A job's RUNJOB tasks in creation order: ids of one job sort so (`-001`, `-002`, …). */
function byCreation(a: TaskProgress, b: TaskProgress): number {
  return a.id.length - b.id.length || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export class ActiveSet {
  private mark: ChangeMark | undefined;
  readonly index = new JobIndex();
  /** Each active job's RUNJOB tasks, oldest first (the pass adds the tasks it creates). */
  readonly tasks = new Map<string, TaskProgress[]>();
  /** The states of jobs waited on that are not active (finished, or gone: absent). */
  private readonly outside = new Map<string, State>();

  /** Drops the copy: the next `refresh` reads every active job again. */
  reset(): void {
    this.mark = undefined;
  }

  /** The active jobs in insertion order. */
  get jobs(): Job[] {
    return this.index.jobs;
  }

  /** The active job of this id, if it is one. */
  job(id: string): Job | undefined {
    return this.index.job(id);
  }

  /** A job's state: active (as the pass has left it), or one waited on that is not (undefined: gone). */
  stateOf(id: string): State | undefined {
    return this.index.job(id)?.state ?? this.outside.get(id);
  }

  /**
   * Reads what was written since the last read and applies it. Answers "all" after a full read, else the jobs
   * written, or whose tasks were, by id with their backend: active ones, and those that left the active set or that
   * an active job waits on (src/scheduler/affected.ts).
   */
  async refresh(stores: Stores): Promise<ReadonlyMap<string, string> | "all"> {
    const changes = await stores.changes.read(this.mark);
    if (changes.full) {
      this.index.clear();
      this.tasks.clear();
      this.outside.clear();
    }
    this.mark = changes.mark;
    const written = new Map<string, string>();
    // Jobs waited on by a job read (before or after): whether still waited on, and whose state is known.
    const waitedOn = new Set<string>();
    for (const { job, seq } of changes.jobs) {
      for (const id of this.index.job(job.id)?.waitForJobIds ?? []) waitedOn.add(id);
      if (isActiveState(job.state)) {
        this.index.set(job, seq);
        // Every task of a job read again comes with it.
        this.tasks.set(job.id, []);
        for (const id of job.waitForJobIds) waitedOn.add(id);
        written.set(job.id, job.backend);
      } else if (
        this.index.has(job.id) ||
        this.outside.has(job.id) ||
        this.index.dependantsOf(job.id).size > 0
      ) {
        this.index.delete(job.id);
        this.tasks.delete(job.id);
        this.outside.set(job.id, job.state);
        waitedOn.add(job.id);
        written.set(job.id, job.backend);
      }
    }
    for (const task of changes.tasks) {
      const list = this.tasks.get(task.jobId!);
      if (!list) continue;
      const at = list.findIndex((known) => known.id === task.id);
      if (at >= 0) list[at] = task;
      else {
        list.push(task);
        list.sort(byCreation);
      }
      written.set(task.jobId!, task.backend);
    }
    await this.keepOutsideStates(stores, waitedOn);
    return changes.full ? "all" : written;
  }

  /**
   * Keeps the states of exactly the jobs waited on that are not active, looking only at those a read touched: one
   * no longer waited on is dropped, one newly waited on is read.
   */
  private async keepOutsideStates(stores: Stores, touched: ReadonlySet<string>): Promise<void> {
    const missing: string[] = [];
    for (const id of touched) {
      if (this.index.has(id) || this.index.dependantsOf(id).size === 0) this.outside.delete(id);
      else if (!this.outside.has(id)) missing.push(id);
    }
    if (missing.length > 0)
      for (const [id, state] of await stores.jobs.states(missing)) this.outside.set(id, state);
  }
}
