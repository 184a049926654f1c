/**
 * `rap prepare-for-reboot` (reference/controller.md §10): before a backend's host reboots, pause it, put every
 * running job back to pending (waiting for the reboot) and cancel its task, then report when it is safe.
 */
import type { Logger } from "pino";
import type { Config } from "../config/index.js";
import type { Storage } from "../db/storage.js";
import { type Clock, systemClock } from "../domain/clock.js";
import { Flag, isPausedValue } from "../domain/flags.js";
import type { JobObserver } from "../domain/job-observer.js";
import { StatusMessage } from "../domain/messages.js";
import { State, StatusCode } from "../domain/status.js";
import { TaskType } from "../domain/task.js";
import { JobWrites } from "../scheduler/job-writes.js";
import { PassContext } from "../scheduler/pass-context.js";
import { setPaused } from "./flags.js";

/** The status report, exactly as the reference prints it. */
export async function rebootStatus(storage: Storage, backend: string): Promise<string> {
  const paused = isPausedValue((await storage.flags.get(backend, Flag.Paused))?.value);
  const running = (await storage.jobs.running(backend)).length;
  const cancelling = (await storage.tasks.activeIdsOfType(backend, TaskType.CancelJob)).length;
  let text = `\n== PREPARING FOR REBOOT ==\n1) backend '${backend}' is ${paused ? "" : "not "}paused\n2) ${running} job(s) are running\n`;
  if (cancelling > 0) text += `3) ${cancelling} job(s) are being cancelled\n`;
  if (!paused)
    text += `Backend '${backend}' is not paused. Run prepare_for_reboot, then check the status again\n`;
  else if (running === 0 && cancelling === 0) text += "\n== READY TO REBOOT ==\nSafe to reboot now\n";
  return text;
}

export interface RebootDeps {
  storage: Storage;
  config: Config;
  log: Logger;
  clock?: Clock;
  /** Told of each job's change once it has committed (the CLI: the status log, as `rap tick` logs). */
  observers?: readonly JobObserver[];
}

/**
 * Pauses the backend, then puts each of its running jobs back to pending (waiting for the reboot) and cancels its
 * task, each job in its own transaction, guarded as the scheduler's writes are. Returns how many jobs were reset.
 */
export async function prepareForReboot(deps: RebootDeps, backend: string): Promise<number> {
  const { storage, config, clock = systemClock } = deps;
  await setPaused(storage.flags, backend, true, clock);
  const writes = new JobWrites({ ...deps, clock });
  const context = await PassContext.load(storage, config);
  const running = context.jobs.filter((job) => job.backend === backend && job.state === State.Running);
  for (const job of running) {
    await writes.transaction(context, async (tx) => {
      await writes.setCode(tx, job, {
        code: StatusCode.WaitingOnReboot,
        message: StatusMessage.WaitingOnReboot,
      });
      await writes.cancelTask(tx, context, job);
    });
  }
  return running.length;
}
