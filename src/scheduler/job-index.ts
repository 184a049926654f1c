/**
 * The active jobs, indexed the ways a pass looks them up (src/scheduler/affected.ts), so that a pass costs what it
 * handles rather than what is active: by id, by backend, the jobs waiting on each job, each backend's jobs waiting
 * for a worker, and the running jobs by backend and by workspace. Each job is indexed as it was read from the
 * database; a pass changes its job objects in place once its writes for them have succeeded (src/scheduler/
 * job-writes.ts), and those writes come back in the next read, which indexes the jobs again (pure: no I/O).
 */
import type { Job } from "../domain/job.js";
import { State, StatusCode } from "../domain/status.js";

interface Entry {
  job: Job;
  /** Insertion order (the database's `seq`). */
  seq: number;
}

const WAITING_FOR_WORKERS: ReadonlySet<StatusCode> = new Set([
  StatusCode.WaitingOnWorkers,
  StatusCode.WaitingOnDbWorkers,
]);

/** The key of a job's workspace, as the handling order groups jobs (src/scheduler/order.ts). */
export function workspaceKey(job: Pick<Job, "backend" | "workspace">): string {
  return `${job.backend}\n${job.workspace}`;
}

function addTo<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (set) set.add(value);
  else map.set(key, new Set([value]));
}

function removeFrom<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}

const NONE: ReadonlySet<string> = new Set();

export class JobIndex {
  private readonly entries = new Map<string, Entry>();
  /** For each job waited on (active or not), the active jobs waiting on it. */
  private readonly dependants = new Map<string, Set<string>>();
  private readonly byBackend = new Map<string, Set<string>>();
  private readonly waitingForWorkers = new Map<string, Set<string>>();
  private readonly runningByBackend = new Map<string, Set<string>>();
  private readonly runningByWorkspace = new Map<string, Set<string>>();
  private ordered: Job[] | undefined;

  get size(): number {
    return this.entries.size;
  }

  /** Adds the job as read, or replaces what was indexed of it. */
  set(job: Job, seq: number): void {
    this.delete(job.id);
    this.entries.set(job.id, { job, seq });
    for (const id of job.waitForJobIds) addTo(this.dependants, id, job.id);
    addTo(this.byBackend, job.backend, job.id);
    if (WAITING_FOR_WORKERS.has(job.statusCode)) addTo(this.waitingForWorkers, job.backend, job.id);
    if (job.state === State.Running) {
      addTo(this.runningByBackend, job.backend, job.id);
      addTo(this.runningByWorkspace, workspaceKey(job), job.id);
    }
    this.ordered = undefined;
  }

  /** Removes the job (its fields may have changed since it was indexed: every index it could be in is cleared). */
  delete(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    const { job } = entry;
    this.entries.delete(id);
    for (const waitedOn of job.waitForJobIds) removeFrom(this.dependants, waitedOn, id);
    removeFrom(this.byBackend, job.backend, id);
    removeFrom(this.waitingForWorkers, job.backend, id);
    removeFrom(this.runningByBackend, job.backend, id);
    removeFrom(this.runningByWorkspace, workspaceKey(job), id);
    this.ordered = undefined;
  }

  clear(): void {
    for (const map of [
      this.entries,
      this.dependants,
      this.byBackend,
      this.waitingForWorkers,
      this.runningByBackend,
      this.runningByWorkspace,
    ])
      map.clear();
    this.ordered = undefined;
  }

  job(id: string): Job | undefined {
    return this.entries.get(id)?.job;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  /** Every active job, in insertion order (sorted when asked for after a change). */
  get jobs(): Job[] {
    this.ordered ??= [...this.entries.values()].sort((a, b) => a.seq - b.seq).map((entry) => entry.job);
    return this.ordered;
  }

  /** These jobs in insertion order. */
  inInsertionOrder(ids: Iterable<string>): Job[] {
    return [...ids]
      .flatMap((id) => {
        const entry = this.entries.get(id);
        return entry ? [entry] : [];
      })
      .sort((a, b) => a.seq - b.seq)
      .map((entry) => entry.job);
  }

  /** The ids of the jobs waited on by some active job. */
  waitedOn(): Iterable<string> {
    return this.dependants.keys();
  }

  dependantsOf(id: string): ReadonlySet<string> {
    return this.dependants.get(id) ?? NONE;
  }

  jobsOf(backend: string): ReadonlySet<string> {
    return this.byBackend.get(backend) ?? NONE;
  }

  waitingForWorkersOn(backend: string): ReadonlySet<string> {
    return this.waitingForWorkers.get(backend) ?? NONE;
  }

  /** The backends with running jobs. */
  runningBackends(): Iterable<string> {
    return this.runningByBackend.keys();
  }

  runningOn(backend: string): ReadonlySet<string> {
    return this.runningByBackend.get(backend) ?? NONE;
  }

  runningIn(workspace: string): ReadonlySet<string> {
    return this.runningByWorkspace.get(workspace) ?? NONE;
  }
}
