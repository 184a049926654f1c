/**
 * `rap prepare-for-reboot` (reference/controller.md §10): before a backend's host reboots, pause it, put every
 * running job back to pending (waiting for the reboot) and cancel its task, then report when it is safe.
 */
import type { Storage } from "../db/storage.js";
import { type Clock, systemClock } from "../domain/clock.js";
import { Flag, isPausedValue } from "../domain/flags.js";
import { TaskType } from "../domain/task.js";
import type { Scheduler } from "../scheduler/scheduler.js";
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

export async function prepareForReboot(
  storage: Storage,
  scheduler: Scheduler,
  backend: string,
  clock: Clock = systemClock,
): Promise<number> {
  await setPaused(storage.flags, backend, true, clock);
  return scheduler.prepareForReboot(backend);
}
