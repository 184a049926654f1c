/**
 * `rap demo`: the example study (examples/study) through the whole system, as a newcomer's first run. It starts
 * everything as `rap serve` does, turns a fresh copy of the study into a local git repository, asks for `run_all`
 * through the RAP API with the client token (exactly what job-server would send), and follows the RAP's jobs until
 * each is final: a line per job with its state, and a progress bar when the output is a terminal (plain lines
 * otherwise, one per change). Then it says where the outputs, logs and manifest are.
 *
 * The process log goes to WORKDIR/rap.log so the terminal shows only the progress.
 */
import { execFile } from "node:child_process";
import { cp, mkdir, rm } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { pino } from "pino";
import { agentLayout } from "../agent/workspace/paths.js";
import { type Env, readWorkdir } from "../config/index.js";
import { randomId } from "../domain/ids.js";
import { RAP_API_PREFIX } from "../http/routes/rap-api.js";
import { docsUrl, untilShutdownSignal } from "./run.js";
import { type Serving, startServe } from "./serve.js";

const run = promisify(execFile);

/** The example study shipped with the code (examples/study beside src/ and dist/). */
const EXAMPLE_STUDY = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "examples", "study");
const DEMO_WORKSPACE = "demo";
/** The images examples/study runs. */
const STUDY_IMAGES = ["python:v2"];
const POLL_MS = 500;
const FINAL = new Set(["succeeded", "failed"]);

/** Where the demo writes: a terminal (TTY) gets a redrawn block, anything else one line per change. */
export interface DemoOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface DemoOptions {
  /** Stop once every job is final instead of serving until interrupted. */
  exit: boolean;
  out: DemoOutput;
}

/** A job as `rap/status/` shows it (the fields the demo reads). */
export interface DemoJob {
  action: string;
  status: string;
  status_code: string;
  status_message: string;
}

/** Runs the demo; resolves with the exit code: 0 only when every job succeeded. */
export async function runDemo(env: Env, cwd: string, options: DemoOptions): Promise<number> {
  const { out } = options;
  const workdir = readWorkdir(env, cwd);
  await mkdir(workdir, { recursive: true });
  const logFile = join(workdir, "rap.log");
  const log = pino({ level: "info" }, pino.destination({ dest: logFile, sync: false }));
  const serving = await startServe(env, cwd, {
    log,
    say: (line) => out.write(`${line}\n`),
    images: STUDY_IMAGES,
  });
  const interrupted = new AbortController();
  const stopped = untilShutdownSignal(log, async () => {
    interrupted.abort();
    await serving.stop();
  });

  let jobs: DemoJob[] | null;
  try {
    const repo = await studyRepository(workdir);
    const rapId = await submitRunAll(serving, repo.path, repo.commit);
    out.write(`\nSubmitted run_all of ${repo.path} (commit ${repo.commit.slice(0, 7)}) as RAP ${rapId}\n\n`);
    jobs = await follow(serving, rapId, out, interrupted.signal);
  } catch (error) {
    // Interrupted mid-request (the server is closing), or a real failure: either way nothing may keep serving.
    if (!interrupted.signal.aborted) {
      await serving.stop();
      throw error;
    }
    jobs = null;
  }
  if (jobs === null) {
    await stopped;
    return 1;
  }
  const succeeded = jobs.length > 0 && jobs.every((job) => job.status === "succeeded");
  out.write(summary(serving, jobs, logFile));
  if (options.exit) {
    await serving.stop();
  } else {
    out.write(`\nStill serving the RAP API (${docsUrl(serving.url)}): press Ctrl-C to stop.\n`);
    await stopped;
  }
  return succeeded ? 0 : 1;
}

/** A fresh copy of the example study in WORKDIR/demo-study, committed to a new git repository on `main`. */
async function studyRepository(workdir: string): Promise<{ path: string; commit: string }> {
  const path = join(workdir, "demo-study");
  await rm(path, { recursive: true, force: true });
  await cp(EXAMPLE_STUDY, path, {
    recursive: true,
    // Outputs of a run by hand in examples/study are not part of the study.
    filter: (source) => relative(EXAMPLE_STUDY, source).split(sep)[0] !== "output",
  });
  const git = (...args: string[]) =>
    run(
      "git",
      [
        "-c",
        "user.name=rap demo",
        "-c",
        "user.email=demo@example.invalid",
        "-c",
        "commit.gpgsign=false",
        ...args,
      ],
      { cwd: path },
    );
  await git("init", "-q", "-b", "main");
  await git("add", "-A");
  await git("commit", "-q", "-m", "The example study");
  const { stdout } = await git("rev-parse", "HEAD");
  return { path, commit: stdout.trim() };
}

function clientToken(serving: Serving): string {
  const backend = serving.config.backends[0]!;
  return serving.generatedClientToken ?? serving.config.backend[backend]!.clientTokens[0]!;
}

async function api(
  serving: Serving,
  path: string,
  body: unknown,
): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${serving.url}${RAP_API_PREFIX}/${path}`, {
    method: "POST",
    headers: { authorization: clientToken(serving), "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

async function submitRunAll(serving: Serving, repoPath: string, commit: string): Promise<string> {
  const rapId = randomId();
  const answer = await api(serving, "rap/create/", {
    backend: serving.config.backends[0],
    rap_id: rapId,
    workspace: DEMO_WORKSPACE,
    repo_url: repoPath,
    branch: "main",
    commit,
    database_name: "default",
    requested_actions: ["run_all"],
    codelists_ok: true,
    force_run_dependencies: true,
    created_by: "demo",
    project: "demo",
    orgs: [],
  });
  if (answer.status !== 201) {
    throw new Error(`the RAP API refused the demo's RAP (${answer.status}): ${JSON.stringify(answer.json)}`);
  }
  return rapId;
}

/** Polls the RAP's jobs and shows them until all are final; null when interrupted first. */
async function follow(
  serving: Serving,
  rapId: string,
  out: DemoOutput,
  signal: AbortSignal,
): Promise<DemoJob[] | null> {
  const view = out.isTTY ? new TerminalView(out) : new LineView(out);
  while (!signal.aborted) {
    const answer = await api(serving, "rap/status/", { rap_ids: [rapId] });
    const jobs = (answer.json as { jobs: DemoJob[] }).jobs.sort((a, b) => a.action.localeCompare(b.action));
    view.show(jobs);
    if (jobs.length > 0 && jobs.every((job) => FINAL.has(job.status))) return jobs;
    await new Promise((resolveWait) => setTimeout(resolveWait, POLL_MS));
  }
  return null;
}

function jobLine(job: DemoJob, width: number): string {
  const message = job.status_message ? `  ${job.status_message}` : "";
  return `${job.action.padEnd(width)}  ${job.status.padEnd(9)}${message}`;
}

/** Without a terminal: one line whenever a job's state or message changes. */
class LineView {
  private readonly seen = new Map<string, string>();
  constructor(private readonly out: DemoOutput) {}

  show(jobs: DemoJob[]): void {
    const width = Math.max(...jobs.map((job) => job.action.length));
    for (const job of jobs) {
      const line = jobLine(job, width);
      if (this.seen.get(job.action) === line) continue;
      this.seen.set(job.action, line);
      this.out.write(`${line}\n`);
    }
  }
}

/** On a terminal: the block of job lines and a progress bar, redrawn in place. */
class TerminalView {
  private drawn = 0;
  constructor(private readonly out: DemoOutput) {}

  show(jobs: DemoJob[]): void {
    // A terminal of unknown size (no window size set, as under `script`) reports 0 columns.
    const columns = this.out.columns || 80;
    const width = Math.max(...jobs.map((job) => job.action.length));
    const done = jobs.filter((job) => FINAL.has(job.status)).length;
    const barWidth = 30;
    const filled = jobs.length === 0 ? 0 : Math.round((barWidth * done) / jobs.length);
    const lines = [
      ...jobs.map((job) => jobLine(job, width)),
      `[${"#".repeat(filled)}${"-".repeat(barWidth - filled)}] ${done}/${jobs.length} jobs finished`,
    ].map((line) => line.slice(0, columns - 1));
    const up = this.drawn > 0 ? `\x1b[${this.drawn}F` : "";
    this.out.write(`${up}${lines.map((line) => `\x1b[2K${line}\n`).join("")}`);
    this.drawn = lines.length;
  }
}

function summary(serving: Serving, jobs: DemoJob[], logFile: string): string {
  const layout = agentLayout(serving.agentConfigs[0]!.storage);
  const failed = jobs.filter((job) => job.status !== "succeeded");
  const high = join(layout.highWorkspacesDir, DEMO_WORKSPACE);
  const medium = join(layout.mediumWorkspacesDir, DEMO_WORKSPACE);
  const verdict =
    failed.length === 0
      ? `All ${jobs.length} jobs succeeded.`
      : `${failed.length} of ${jobs.length} jobs did not succeed: ${failed
          .map((job) => `${job.action} (${job.status_code})`)
          .join(", ")}.`;
  return [
    "",
    verdict,
    "",
    `Outputs, every file (level 3):           ${high}/output/`,
    `Moderately sensitive outputs (level 4):  ${medium}/output/`,
    `  held back by the level 4 checks:       ${medium}/output/patient_list.csv.txt says why`,
    `Manifest of the workspace:               ${medium}/metadata/manifest.json`,
    `Job logs:                                ${high}/metadata/{action}.log and ${layout.jobLogDir}/`,
    `The server's own log:                    ${logFile}`,
    "",
  ].join("\n");
}
