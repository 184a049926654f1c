/**
 * What the local runtime needs to know about host processes, from signals and /proc (Linux): whether a pid is still
 * the process that was started, killing a job's process group, and every process's CPU time and memory for `stats`.
 */
import { readdir, readFile } from "node:fs/promises";
import { constants as osConstants } from "node:os";
import { isErrno } from "../workspace/files.js";

/** Linux's USER_HZ and page size on every platform Node supports there; /proc reports in these units. */
export const CLOCK_TICKS_PER_SECOND = 100;
export const PAGE_BYTES = 4096;

export interface ProcSample {
  pgrp: number;
  cpuTicks: number;
  rssPages: number;
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isErrno(error, "EPERM");
  }
}

/**
 * The process is alive and is the one that was started, told from a later process given the same pid by its start
 * time (field 22 of /proc/{pid}/stat, recorded at start; null when it could not be).
 */
export async function processIsAlive(pid: number, processStart: string | null): Promise<boolean> {
  if (!pidExists(pid)) return false;
  if (processStart === null) return true;
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => null);
  return stat === null || statFields(stat)[19] === processStart;
}

/** SIGKILL to the job's process group (the job and anything it started); a group already gone is fine. */
export function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch (error) {
    if (!isErrno(error, "ESRCH")) throw error;
  }
}

export function signalNumber(signal: NodeJS.Signals | null): number {
  return signal ? (osSignals[signal] ?? 0) : 0;
}

const osSignals = osConstants.signals as Partial<Record<string, number>>;

/** Fields 3… of /proc/{pid}/stat (after the parenthesised command name, which may contain spaces). */
function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** Every process's group, CPU time and resident pages from /proc; [] where there is no /proc. */
export async function readAllProcesses(): Promise<ProcSample[]> {
  const entries = await readdir("/proc").catch(() => [] as string[]);
  const samples = await Promise.all(
    entries
      .filter((entry) => /^\d+$/.test(entry))
      .map(async (entry) => {
        const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => null);
        if (stat === null) return null;
        const fields = statFields(stat);
        return {
          pgrp: Number(fields[2]),
          cpuTicks: Number(fields[11]) + Number(fields[12]),
          rssPages: Number(fields[21]),
        };
      }),
  );
  return samples.filter((sample): sample is ProcSample => sample !== null);
}
