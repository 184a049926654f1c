/**
 * The built `rap` command as a person runs it: a child process in its own process group (so a test can signal it
 * and whatever it started, as a terminal's Ctrl-C does), with only the environment given (plus PATH and HOME),
 * its output collected, and helpers to wait for a line and to call the RAP API it serves.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { cliPath } from "../support/cli.js";

export interface Running {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves when the output contains `text`; rejects if the process exits first. */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
  /** The exit code (null when ended by a signal). */
  readonly exited: Promise<number | null>;
  /** Sends a signal to the whole process group. */
  signal(name: NodeJS.Signals): void;
}

/** Runs `command` (an argv) in `cwd` with `env`; `shell: true` runs a shell command line instead. */
export function start(
  command: string[],
  options: { cwd: string; env: Record<string, string>; shell?: boolean },
): Running {
  const env = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...options.env };
  const child = options.shell
    ? spawn("sh", ["-c", command[0]!], {
        cwd: options.cwd,
        env,
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
      })
    : spawn(command[0]!, command.slice(1), {
        cwd: options.cwd,
        env,
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
      });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    output: () => output,
    exited,
    signal(name) {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, name);
    },
    waitFor(text, timeoutMs = 120_000) {
      const found = () => (typeof text === "string" ? output.includes(text) : text.test(output));
      return new Promise<void>((resolve, reject) => {
        const deadline = Date.now() + timeoutMs;
        const check = setInterval(() => {
          if (found()) {
            clearInterval(check);
            resolve();
          } else if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
            clearInterval(check);
            reject(new Error(`never saw ${String(text)}; output:\n${output}`));
          }
        }, 50);
      });
    },
  };
}

/** `rap ARGS...` from dist/ (built by test/support/global-setup.ts). */
export function startRap(args: string[], options: { cwd: string; env: Record<string, string> }): Running {
  return start([process.execPath, cliPath, ...args], options);
}

/** The parts of RAP API answers these tests read. */
export interface ApiAnswer {
  status: number;
  json: { jobs: Array<{ action: string; status: string; status_code: string }>; [key: string]: unknown };
}

/** POSTs JSON to the RAP API with a raw client token, as job-server does. */
export async function rapApi(port: number, token: string, path: string, body: unknown): Promise<ApiAnswer> {
  const response = await fetch(`http://127.0.0.1:${port}/controller/v1/${path}`, {
    method: "POST",
    headers: { authorization: token },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as ApiAnswer["json"] };
}

type Job = ApiAnswer["json"]["jobs"][number];

/** Polls rap/status/ until the RAP has jobs and every one is succeeded or failed (or a minute has passed). */
export async function finalJobs(port: number, token: string, rapId: string): Promise<Job[]> {
  const final = (jobs: Job[]) =>
    jobs.length > 0 && jobs.every((j) => ["succeeded", "failed"].includes(j.status));
  let jobs = (await rapApi(port, token, "rap/status/", { rap_ids: [rapId] })).json.jobs;
  for (let i = 0; i < 600 && !final(jobs); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    jobs = (await rapApi(port, token, "rap/status/", { rap_ids: [rapId] })).json.jobs;
  }
  return jobs;
}
