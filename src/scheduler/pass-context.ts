/**
 * What one scheduler pass knows, read with a constant number of queries (DESIGN DECISIONS 11 applies to the loop
 * too: the ActiveSet's read of what changed, and the flags) and kept current as the pass changes jobs: the active
 * jobs, their RUNJOB tasks, the states of the jobs they wait on, each backend's flags and its workers in use.
 */
import type { Config } from "../config/index.js";
import type { Stores, TaskProgress } from "../db/storage.js";
import { DB_MAINTENANCE_MODE, Flag, isPausedValue, isTruthyFlag } from "../domain/flags.js";
import type { Job } from "../domain/job.js";
import { State } from "../domain/status.js";
import { jobWeight, NO_WEIGHTS } from "../domain/weights.js";
import { ActiveSet } from "./active-set.js";
import { workspaceKey } from "./job-index.js";

export interface BackendFlags {
  paused: boolean;
  dbMaintenance: boolean;
  manualDbMaintenance: boolean;
  checksDisabled: boolean;
  /** When the backend's agent last polled for tasks (the last-seen-at flag; Unix seconds); null if never. */
  agentLastSeenAt: number | null;
}

interface Usage {
  db: number;
  nonDb: number;
}

export class PassContext {
  /** A job's handling waits on something outside the database (an image registry): the next pass must try again. */
  retryNeeded = false;
  private readonly usage = new Map<string, Usage>();
  private readonly inputs = new Map<string, Map<string, string | null>>();
  readonly tasks: Map<string, TaskProgress[]>;

  private constructor(
    private readonly config: Config,
    private readonly active: ActiveSet,
    private readonly flags: Map<string, BackendFlags>,
  ) {
    this.tasks = active.tasks;
    // Workers in use, from the running jobs alone (the index has them by backend): not a look at every job.
    for (const backend of active.index.runningBackends())
      for (const id of active.index.runningOn(backend)) this.addUsage(active.job(id)!, 1);
  }

  /** A view read whole, for a one-off change (prepare-for-reboot). */
  static async load(stores: Stores, config: Config): Promise<PassContext> {
    const active = new ActiveSet();
    await active.refresh(stores);
    return PassContext.of(config, active, await readFlags(stores));
  }

  /** The pass's view of the active jobs (read from the database by `active.refresh`) and of each backend's flags. */
  static of(config: Config, active: ActiveSet, flags: Map<string, BackendFlags>): PassContext {
    return new PassContext(config, active, flags);
  }

  /** Every active job, in insertion order. */
  get jobs(): Job[] {
    return this.active.jobs;
  }

  /** A job's state as the pass has left it so far: active, or one waited on that is not (undefined: gone). */
  stateOf(id: string): State | undefined {
    return this.active.stateOf(id);
  }

  flagsOf(backend: string): BackendFlags {
    return this.flags.get(backend) ?? NO_FLAGS;
  }

  weightOf(job: Job): number {
    return jobWeight(this.config.scheduler.weights[job.backend] ?? NO_WEIGHTS, job);
  }

  /** Workers in use on the job's backend, from the pool the job would use. */
  usageFor(job: Job): number {
    const usage = this.usage.get(job.backend);
    return usage ? (job.requiresDb ? usage.db : usage.nonDb) : 0;
  }

  /** Records a job's new state (its capacity is counted while it runs). */
  recordState(job: Job, previous: State): void {
    if (previous !== State.Running && job.state === State.Running) this.addUsage(job, 1);
    if (previous === State.Running && job.state !== State.Running) this.addUsage(job, -1);
  }

  latestTask(job: Job): TaskProgress | undefined {
    return this.tasks.get(job.id)?.at(-1);
  }

  addTask(task: TaskProgress): void {
    const list = this.tasks.get(task.jobId!);
    if (list) list.push(task);
    else this.tasks.set(task.jobId!, [task]);
  }

  /** Takes back a task `addTask` added (its insert did not happen). */
  removeTask(task: TaskProgress): void {
    const list = this.tasks.get(task.jobId!);
    const at = list?.indexOf(task) ?? -1;
    if (at >= 0) list!.splice(at, 1);
  }

  /**
   * For each of the job's needed actions, its latest job in the workspace (each action read once per workspace per
   * pass; null: none).
   */
  async inputJobIds(stores: Stores, job: Job): Promise<string[]> {
    const key = workspaceKey(job);
    let latest = this.inputs.get(key);
    if (!latest) {
      latest = new Map();
      this.inputs.set(key, latest);
    }
    const unread = [...new Set(job.requiresOutputsFrom)].filter((action) => !latest.has(action));
    if (unread.length > 0) {
      const read = await stores.jobs.latestJobByAction(job.backend, job.workspace, unread);
      for (const action of unread) latest.set(action, read.get(action) ?? null);
    }
    return job.requiresOutputsFrom.flatMap((action) => {
      const id = latest.get(action);
      return id == null ? [] : [id];
    });
  }

  private addUsage(job: Job, sign: 1 | -1): void {
    const usage = this.usage.get(job.backend) ?? { db: 0, nonDb: 0 };
    if (job.requiresDb) usage.db += sign * this.weightOf(job);
    else usage.nonDb += sign * this.weightOf(job);
    this.usage.set(job.backend, usage);
  }
}

export const NO_FLAGS: BackendFlags = {
  paused: false,
  dbMaintenance: false,
  manualDbMaintenance: false,
  checksDisabled: false,
  agentLastSeenAt: null,
};

export async function readFlags(stores: Stores): Promise<Map<string, BackendFlags>> {
  const byBackend = new Map<string, BackendFlags>();
  for (const flag of await stores.flags.all()) {
    const flags = byBackend.get(flag.backend) ?? { ...NO_FLAGS };
    if (flag.id === Flag.Paused) flags.paused = isPausedValue(flag.value);
    else if (flag.id === Flag.Mode) flags.dbMaintenance = flag.value === DB_MAINTENANCE_MODE;
    else if (flag.id === Flag.ManualDbMaintenance) flags.manualDbMaintenance = isTruthyFlag(flag.value);
    else if (flag.id === Flag.DbMaintenanceChecksDisabled) flags.checksDisabled = isTruthyFlag(flag.value);
    else if (flag.id === Flag.LastSeenAt) flags.agentLastSeenAt = flag.timestamp;
    byBackend.set(flag.backend, flags);
  }
  return byBackend;
}
