/**
 * The scheduled database tasks (reference/controller.md §4.3): DBSTATUS every MAINTENANCE_POLL_INTERVAL on the
 * maintenance-enabled backends (it tells whether the database is in maintenance), DBDATACHECK every
 * DATA_CHECK_POLL_INTERVAL on the data-check backends. At most one of each is active per backend: the database
 * enforces it (TaskStore.insertScheduled), so schedulers that race create one.
 */
import { randomBytes } from "node:crypto";
import type { Config } from "../config/index.js";
import type { Stores } from "../db/storage.js";
import { type Clock, nowSeconds } from "../domain/clock.js";
import { TaskType } from "../domain/task.js";
import { readFlags } from "./pass-context.js";
import type { ImageDigests } from "./scheduler.js";

const UTILS_IMAGE = "tpp-database-utils:latest";

/** `{type}-{local date}-{20 hex characters}`, as the reference names scheduled tasks. */
function scheduledTaskId(type: TaskType, nowMs: number): string {
  const date = new Date(nowMs);
  const day = `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, "0")}-${String(date.getDate()).padStart(2, "0")}`;
  return `${type}-${day}-${randomBytes(10).toString("hex")}`;
}

/** Reads outside any transaction; `write` runs its work in one transaction of the pass (behind its lease). */
export interface ScheduledTaskAccess {
  read: Stores;
  write: (work: (stores: Stores) => Promise<unknown>) => Promise<unknown>;
}

export async function updateScheduledTasks(
  storage: ScheduledTaskAccess,
  config: Config,
  clock: Clock,
  digests: ImageDigests,
): Promise<void> {
  const { maintenance, dataCheck, dockerRegistry } = config.scheduler;
  if (maintenance.backends.length === 0 && dataCheck.backends.length === 0) return;
  const flags = await readFlags(storage.read);
  const image = `${dockerRegistry}/${UTILS_IMAGE}`;
  const definition = async (extra: Record<string, unknown>) => ({
    ...extra,
    image,
    image_sha: await digests.resolve(UTILS_IMAGE),
  });
  for (const backend of maintenance.backends) {
    const backendFlags = flags.get(backend);
    // Off only when maintenance was set by hand and its checks disabled.
    const active = !(backendFlags?.manualDbMaintenance && backendFlags.checksDisabled);
    await schedule(storage, clock, backend, TaskType.DbStatus, maintenance.pollIntervalS, active, () =>
      definition({ database_name: "default" }),
    );
  }
  for (const backend of dataCheck.backends) {
    const active = !flags.get(backend)?.dbMaintenance;
    await schedule(storage, clock, backend, TaskType.DbDataCheck, dataCheck.pollIntervalS, active, () =>
      definition({ hes_expected_activity_month: dataCheck.hesExpectedActivityMonth }),
    );
  }
}

/** One backend's task of one type: switched off, left running, or created when the interval has passed. */
async function schedule(
  storage: ScheduledTaskAccess,
  clock: Clock,
  backend: string,
  type: TaskType,
  intervalS: number,
  active: boolean,
  definition: () => Promise<Record<string, unknown>>,
): Promise<void> {
  const activeIds = await storage.read.tasks.activeIdsOfType(backend, type);
  if (!active) {
    // Switched off, not finished: finished_at stays as it was.
    if (activeIds.length > 0)
      await storage.write(async (stores) => {
        for (const id of activeIds) await stores.tasks.deactivate(id, null);
      });
    return;
  }
  if (activeIds.length > 0) return;
  const now = nowSeconds(clock);
  const lastFinished = await storage.read.tasks.lastFinishedOfType(backend, type);
  if (lastFinished !== null && lastFinished > Math.floor(now - intervalS)) return;
  // The definition is made (its image digest resolved) before the transaction, which must not wait on a registry.
  const task = {
    id: scheduledTaskId(type, clock.nowMs()),
    backend,
    type,
    jobId: null,
    definition: await definition(),
    attributes: {},
    createdAt: now,
  };
  await storage.write((stores) => stores.tasks.insertScheduled(task));
}
