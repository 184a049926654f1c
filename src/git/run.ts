/**
 * Spawning git: always an argument array (no shell), a timeout, a controlled environment, and a count of processes
 * so benchmarks can report git processes per request.
 */
import { execFile } from "node:child_process";
import { redact } from "./redact.js";
import type { GitLogger } from "./settings.js";

export interface GitRunOptions {
  readonly args: readonly string[];
  readonly env: Record<string, string>;
  readonly timeoutMs: number;
  readonly cwd?: string;
  /** Strings masked in anything logged or returned as text. */
  readonly secrets?: readonly string[];
  readonly log?: GitLogger | undefined;
}

export interface GitResult {
  readonly ok: boolean;
  readonly stdout: Buffer;
  /** Already redacted. */
  readonly stderr: string;
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  /** A one-line account of a failure (redacted), for logs and error causes. */
  readonly failure: string | null;
}

// Files read through git (project.yaml, action.yaml) are small; this only bounds a pathological one.
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
const MAX_LOGGED_STDERR = 2000;

const counts = { total: 0, bySubcommand: new Map<string, number>() };

/** How many git processes this process has started, in total and per git subcommand. Read before/after to diff. */
export function gitProcessCounts(): { total: number; bySubcommand: Record<string, number> } {
  return { total: counts.total, bySubcommand: Object.fromEntries(counts.bySubcommand) };
}

/** Counts a git process about to start with `args`. */
export function noteGitProcess(args: readonly string[]): void {
  const subcommand = args.find((a) => !a.startsWith("-")) ?? "";
  counts.total += 1;
  counts.bySubcommand.set(subcommand, (counts.bySubcommand.get(subcommand) ?? 0) + 1);
}

/** Runs git and reports how it ended. Never throws for a failing git; the caller decides what failure means. */
export function runGit(options: GitRunOptions): Promise<GitResult> {
  const { args, secrets = [], log } = options;
  noteGitProcess(args);
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(
      "git",
      args,
      {
        cwd: options.cwd,
        env: options.env,
        timeout: options.timeoutMs,
        // SIGTERM lets git remove its lock files; SIGKILL would leave the cache locked.
        killSignal: "SIGTERM",
        maxBuffer: MAX_OUTPUT_BYTES,
        encoding: "buffer",
        windowsHide: true,
      },
      (error, stdout, stderrBytes) => {
        const stderr = redact(stderrBytes.toString("utf8"), secrets);
        const durationMs = Math.round(performance.now() - started);
        const command = redact(`git ${args.join(" ")}`, secrets);
        if (!error) {
          log?.debug({ command, durationMs }, "git process finished");
          resolve({ ok: true, stdout, stderr, exitCode: 0, timedOut: false, failure: null });
          return;
        }
        const timedOut = error.killed === true && error.signal === "SIGTERM";
        const exitCode = typeof error.code === "number" ? error.code : null;
        const failure = timedOut
          ? `${command} timed out after ${options.timeoutMs} ms`
          : exitCode !== null
            ? `${command} exited with ${exitCode}: ${firstLines(stderr)}`
            : `${command} failed: ${redact(error.message, secrets)}`;
        // Some failures are answers (not an ancestor, no such file): the caller logs the ones that are errors.
        log?.debug(
          { command, exitCode, timedOut, durationMs, stderr: stderr.slice(0, MAX_LOGGED_STDERR) },
          "git process failed",
        );
        resolve({ ok: false, stdout, stderr, exitCode, timedOut, failure });
      },
    );
  });
}

function firstLines(text: string): string {
  return text.trim().split("\n").slice(0, 5).join(" | ");
}
