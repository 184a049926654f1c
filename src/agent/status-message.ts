/**
 * The status message and hint of a finished job (reference/agent.md §3.6, §3.14): what the researcher reads about
 * how the job ended. Pure; first rule that applies wins.
 */
import { pyFixed2 } from "../python/float.js";

export interface JobEnding {
  /** Null when there was no container (a job cancelled or errored before it ran). */
  readonly exitCode: number | null;
  readonly oomKilled: boolean;
  /** The container's memory limit in bytes; 0 for none. */
  readonly memoryLimitBytes: number;
  readonly cancelled: boolean;
  readonly errored: boolean;
  /** The container was removed by someone else before its end was recorded (there is no exit code to read). */
  readonly vanished?: boolean;
  /** The runtime's word on why the job ended, when it knows better than the exit code (ContainerState). */
  readonly endedBecause?: string | null;
  readonly outputCount: number;
  readonly unmatchedPatterns: readonly string[];
  readonly unmatchedOutputs: readonly string[];
}

const EXIT_CODE_MESSAGES: Readonly<Record<number, string>> = {
  137: "Job killed by OpenSAFELY admin or memory limits",
};

/** Ours (the reference re-ran such a job): the controller reports it as `Job exited with an error: …`. */
export const CONTAINER_VANISHED =
  "The job's container disappeared before the job's end was recorded (it was removed from outside the agent), " +
  "so the job failed and was not run again";

export function statusMessage(ending: JobEnding): { message: string | null; hint: string | null } {
  const { exitCode } = ending;
  if (exitCode === null) {
    if (ending.cancelled) return { message: "Job cancelled by system", hint: null };
    if (ending.vanished) return { message: CONTAINER_VANISHED, hint: null };
    if (ending.endedBecause) return { message: ending.endedBecause, hint: null };
    return { message: "Job errored", hint: null };
  }
  if (exitCode === 0 && ending.outputCount > 0 && ending.unmatchedPatterns.length === 0) {
    return { message: "Completed successfully", hint: null };
  }
  if (exitCode === 0 && ending.unmatchedPatterns.length > 0) {
    const message = `\n  No outputs found matching patterns:\n - ${ending.unmatchedPatterns.join("\n   - ")}`;
    const hint =
      ending.unmatchedOutputs.length > 0
        ? `\n  Did you mean to match one of these files instead?\n - ${ending.unmatchedOutputs.join("\n   - ")}`
        : null;
    return { message, hint };
  }
  if (exitCode === 137 && ending.cancelled) return { message: "Job cancelled by system", hint: null };
  if (exitCode !== 0 && ending.endedBecause) return { message: ending.endedBecause, hint: null };
  if (exitCode === 137 && ending.oomKilled) {
    const limit =
      ending.memoryLimitBytes > 0 ? ` (limit was ${pyFixed2(ending.memoryLimitBytes / 1024 ** 3)}GB)` : "";
    return { message: `Job ran out of memory${limit}`, hint: null };
  }
  return { message: EXIT_CODE_MESSAGES[exitCode] ?? null, hint: null };
}
