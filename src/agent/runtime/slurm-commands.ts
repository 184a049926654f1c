/**
 * Slurm's client commands (`sbatch`, `squeue`, `scontrol`, `scancel`) run as the git code runs git: `execFile` with
 * an argument array (no shell), an environment built from scratch, a timeout, and bounded output. A controller that
 * does not answer is a RuntimeTimeoutError, which the agent retries with backoff: jobs wait, the agent carries on.
 */
import { execFile } from "node:child_process";
import { RuntimeError, RuntimeTimeoutError } from "./types.js";

export interface SlurmCommandOptions {
  /** Timeout of one command. */
  timeoutMs: number;
  /** SLURM_CONF for the commands; null for their default (/etc/slurm/slurm.conf or DNS SRV records). */
  slurmConf: string | null;
}

/** What Slurm's commands print when the controller cannot be reached or does not answer in time. */
const UNREACHABLE =
  /Unable to contact slurm controller|Socket timed out|Zero Bytes were transmitted|Connection refused|Slurm backup controller in standby mode|Communication connection failure/i;

const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

export interface CommandResult {
  stdout: string;
  stderr: string;
  /** 0 on success. */
  exitCode: number;
}

/**
 * Runs a Slurm command. Resolves with its output whatever its exit code (callers read the answers they expect,
 * such as an unknown job id); rejects with RuntimeTimeoutError when it times out or cannot reach the controller,
 * and with RuntimeError when it cannot run at all.
 */
export function runSlurm(
  command: string,
  args: readonly string[],
  options: SlurmCommandOptions,
): Promise<CommandResult> {
  const env: Record<string, string> = { PATH, LC_ALL: "C" };
  if (options.slurmConf !== null) env.SLURM_CONF = options.slurmConf;
  const what = `${command} ${args[0] ?? ""}`.trim();
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      {
        env,
        timeout: options.timeoutMs,
        killSignal: "SIGKILL",
        maxBuffer: MAX_OUTPUT_BYTES,
        encoding: "utf8",
      },
      (error, stdout, stderr) => {
        if (error && (error as NodeJS.ErrnoException).code === "ENOENT") {
          reject(
            new RuntimeError(
              `${command} is not installed on the agent's machine (the Slurm runtime needs Slurm's client commands)`,
            ),
          );
          return;
        }
        if (error?.killed || error?.signal === "SIGKILL") {
          reject(
            new RuntimeTimeoutError(`slurm timed out after ${options.timeoutMs / 1000}s running ${what}`),
          );
          return;
        }
        if (error && UNREACHABLE.test(stderr)) {
          reject(new RuntimeTimeoutError(`slurm did not answer running ${what}: ${firstLine(stderr)}`));
          return;
        }
        if (error && typeof error.code !== "number") {
          reject(new RuntimeError(`slurm failed running ${what}: ${error.message}`, { cause: error }));
          return;
        }
        resolve({ stdout, stderr, exitCode: error ? (error.code as unknown as number) : 0 });
      },
    );
  });
}

/** The command's failure, for an error message: its first line of stderr. */
export function firstLine(text: string): string {
  return text.trim().split("\n", 1)[0] ?? "";
}
