/**
 * The scheduler's copy of what its passes read (issue 18): the active jobs, their RUNJOB tasks and the states of
 * the finished jobs they wait on, kept from pass to pass and brought up to date from the ChangeFeed
 * (src/db/storage.ts), which answers only the jobs and tasks written since the previous read. A steady pass over
 * 10,000 active jobs so reads a few empty ranges instead of every row.
 *
 * The copy holds nothing but rows as the database last showed them (and the pass's own committed writes, which the
 * next read brings again), so it is right whoever wrote meanwhile: another process's cancel, `rap tick`, another
 * replica's create, an agent's update. `reset` drops it (a new lease term, a pass that failed): the next read is a
 * full one.
 */
import type { ChangeMark, Stores, TaskProgress } from "../db/storage.js";
import type { Job } from "../domain/job.js";
import { isActiveState, type State } from "../domain/status.js";

interface Entry {
  job: Job;
  seq: number;
}

/** A job's RUNJOB tasks in creation order: ids of one job sort so (`-001`, `-002`, …). */
function byCreation(a: TaskProgress, b: TaskProgress): number {
  return a.id.length - b.id.length || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export class ActiveSet {
  private mark: ChangeMark | undefined;
  private readonly entries = new Map<string, Entry>();
  /** Each active job's RUNJOB tasks, oldest first (the pass adds the tasks it creates). */
  readonly tasks = new Map<string, TaskProgress[]>();
  /** The states of jobs waited on that are not active (finished, or gone: absent). */
  private outside = new Map<string, State>();
  private ordered: Job[] | undefined;

  /** Drops the copy: the next `refresh` reads every active job again. */
  reset(): void {
    this.mark = undefined;
  }

  /** The active jobs in insertion order. */
  get jobs(): Job[] {
    this.ordered ??= [...this.entries.values()].sort((a, b) => a.seq - b.seq).map((entry) => entry.job);
    return this.ordered;
  }

  /** The active job of this id, if it is one. */
  job(id: string): Job | undefined {
    return this.entries.get(id)?.job;
  }

  /** The states of the jobs waited on that are not active. */
  get outsideStates(): ReadonlyMap<string, State> {
    return this.outside;
  }

  /**
   * Reads what was written since the last read and applies it. Answers "all" after a full read, else the jobs
   * written, or whose tasks were, by id with their backend: active ones, and those that left the active set or that
   * an active job waits on (src/scheduler/affected.ts).
   */
  async refresh(stores: Stores): Promise<ReadonlyMap<string, string> | "all"> {
    const changes = await stores.changes.read(this.mark);
    if (changes.full) {
      this.entries.clear();
      this.tasks.clear();
      this.outside.clear();
      this.ordered = undefined;
    }
    this.mark = changes.mark;
    const written = new Map<string, string>();
    const finished = new Map<string, State>();
    for (const { job, seq } of changes.jobs) {
      const known = this.entries.has(job.id);
      if (isActiveState(job.state)) {
        this.entries.set(job.id, { job, seq });
        // Every task of a job read again comes with it.
        this.tasks.set(job.id, []);
        this.ordered = undefined;
        written.set(job.id, job.backend);
      } else {
        finished.set(job.id, job.state);
        if (known || this.outside.has(job.id)) {
          this.entries.delete(job.id);
          this.tasks.delete(job.id);
          this.ordered = undefined;
          written.set(job.id, job.backend);
        }
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
    if (changes.full || written.size > 0) await this.readOutsideStates(stores, finished);
    return changes.full ? "all" : written;
  }

  /** Keeps the states of exactly the jobs waited on that are not active: known ones, just read ones, the rest read. */
  private async readOutsideStates(stores: Stores, finished: ReadonlyMap<string, State>): Promise<void> {
    const wanted = new Map<string, State>();
    const missing: string[] = [];
    for (const { job } of this.entries.values())
      for (const id of job.waitForJobIds) {
        if (this.entries.has(id) || wanted.has(id)) continue;
        const state = finished.get(id) ?? this.outside.get(id);
        if (state === undefined) missing.push(id);
        else wanted.set(id, state);
      }
    if (missing.length > 0)
      for (const [id, state] of await stores.jobs.states(missing)) wanted.set(id, state);
    this.outside = wanted;
  }
}
