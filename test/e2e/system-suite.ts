/**
 * The whole system end to end (issue 10; scenarios.md §I): the real controller with its scheduler loop, the real
 * agent, and a real runtime, all on 127.0.0.1 in temp dirs. RAPs are created and cancelled through the RAP API,
 * and what job-server sees (rap/status/) and what lands on disk are asserted. One suite, run once per runtime by
 * system-docker.test.ts, system-slurm.test.ts and system-local.test.ts; the out-of-memory case needs a container.
 */
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { RuntimeKind } from "../../src/agent/runtime/index.js";
import type { Env } from "../../src/config/env.js";
import { StatusMessage } from "../../src/domain/messages.js";
import { createRap } from "../scheduler/support.js";
import { createStudyRepo, removeDir } from "../support/git-fixtures.js";
import { type StatusJob, startWholeSystem, type WholeSystem } from "../support/whole-system.js";

const IMAGE = "python:v2";
// Generous for a loaded CI machine; a test normally takes a second or two (the restart test about six).
const TEST_TIMEOUT_MS = 60_000;

/** A project.yaml from actions: run command, needs, and outputs by privacy level. */
function projectYaml(
  actions: Record<
    string,
    { script: string; needs?: string[]; outputs: Record<string, Record<string, string>> }
  >,
): string {
  const lines = ["version: '4.0'", "actions:"];
  for (const [name, action] of Object.entries(actions)) {
    lines.push(`  ${name}:`, `    run: ${IMAGE} analysis/${action.script}`);
    if (action.needs) lines.push(`    needs: [${action.needs.join(", ")}]`);
    lines.push("    outputs:");
    for (const [level, files] of Object.entries(action.outputs)) {
      lines.push(`      ${level}:`);
      for (const [key, path] of Object.entries(files)) lines.push(`        ${key}: ${path}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

async function studyRepo(files: Record<string, string>) {
  const repo = await createStudyRepo({ files });
  return { path: repo.path, commit: repo.commits[0]! };
}

const WRITE = (path: string, text: string) =>
  `import os\nos.makedirs(os.path.dirname(${JSON.stringify(path)}), exist_ok=True)\n` +
  `open(${JSON.stringify(path)}, 'w').write(${JSON.stringify(text)})\n`;

/** A study: a dataset step (standing in for ehrQL) and two analyses needing it, one with patient-level output. */
const STUDY = {
  "project.yaml": projectYaml({
    make_dataset: {
      script: "make_dataset.py",
      outputs: { highly_sensitive: { dataset: "output/dataset.csv" } },
    },
    count_patients: {
      script: "count_patients.py",
      needs: ["make_dataset"],
      outputs: { moderately_sensitive: { counts: "output/counts.csv" } },
    },
    list_patients: {
      script: "list_patients.py",
      needs: ["make_dataset"],
      outputs: { moderately_sensitive: { patients: "output/patients.csv" } },
    },
  }),
  "analysis/make_dataset.py": `${WRITE("output/dataset.csv", "patient_id,age\n1,34\n2,51\n3,27\n")}print('dataset written')\n`,
  "analysis/count_patients.py":
    "import time\nrows = open('output/dataset.csv').read().splitlines()[1:]\n" +
    "time.sleep(0.5)\n" +
    "open('output/counts.csv', 'w').write('patients\\n%d\\n' % len(rows))\nprint('counted', len(rows))\n",
  "analysis/list_patients.py":
    "import shutil\nshutil.copy('output/dataset.csv', 'output/patients.csv')\nprint('listed')\n",
};

/** The level 4 message for a file with a patient_id column (reference/agent.md §3.8). */
const PATIENT_ID_MESSAGE = `
The file:

output/patients.csv

has not been made available in level 4 because it has a \`patient_id\` column.

Patient level data is not allowed by policy in level 4.

You should change this file's privacy to \`highly_sensitive\` in your
project.yaml. Or, if is aggregrate data, you should remove the patient_id
column from your data.

`;

/** Jobs that end badly, each in its own way. */
const FAILURES = {
  "project.yaml": projectYaml({
    exit_error: { script: "exit_error.py", outputs: { moderately_sensitive: { out: "output/exit.txt" } } },
    out_of_memory: { script: "oom.py", outputs: { moderately_sensitive: { out: "output/oom.txt" } } },
    unmatched: { script: "unmatched.py", outputs: { moderately_sensitive: { out: "output/right.txt" } } },
    sleeper: { script: "sleeper.py", outputs: { moderately_sensitive: { out: "output/slept.txt" } } },
  }),
  "analysis/exit_error.py": `${WRITE("output/exit.txt", "partial\n")}import sys\nsys.exit(3)\n`,
  // The output exists, so the message is not redacted for unmatched outputs; then memory well over 32M is touched.
  "analysis/oom.py": `${WRITE("output/oom.txt", "before\n")}hog = [b'x' * (8 << 20) for _ in range(64)]\n`,
  "analysis/unmatched.py": WRITE("output/wrong.txt", "misnamed\n"),
  "analysis/sleeper.py": `import time\ntime.sleep(120)\n${WRITE("output/slept.txt", "woke\n")}`,
};

/** A job that runs for a few seconds, and one that needs it: an agent is killed and restarted meanwhile. */
/**
 * A job that runs long enough for the second agent to start (a Node process loading TypeScript, seconds on a busy
 * machine) and sample its metrics before it ends.
 */
const SLOW = {
  "project.yaml": projectYaml({
    slow: { script: "slow.py", outputs: { highly_sensitive: { out: "output/slow.csv" } } },
    after: {
      script: "after.py",
      needs: ["slow"],
      outputs: { moderately_sensitive: { out: "output/after.txt" } },
    },
  }),
  "analysis/slow.py": `import time\nprint('slow started', flush=True)\ntime.sleep(8)\n${WRITE("output/slow.csv", "n\n1\n")}print('slow done')\n`,
  "analysis/after.py": "open('output/after.txt', 'w').write(open('output/slow.csv').read())\n",
};

const MEMORY_LIMIT = "32M";
// 32 MiB in GB, as the agent prints it: 0.03125 to two places.
const MEMORY_LIMIT_GB = "0.03";
const ARCHIVED_WORKSPACE = "archived";
const CONTROLLER_RETRIES = 2;

/** `YYYY-MM` of an ISO time, in UTC: the log directory of a job created then. */
const month = (iso: string) => iso.slice(0, 7);

// biome-ignore lint/suspicious/noExplicitAny: the files' shapes are what the assertions check.
async function readJson(path: string): Promise<any> {
  return JSON.parse(await readFile(path, "utf8"));
}

/** Every file under `dir`, as sorted relative paths. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

/** A runtime set up some other way than its defaults (for Slurm, the nodes' container engine). */
export interface SuiteVariant {
  /** How the suite's titles name it. */
  name: string;
  /** The agent's settings that make it. */
  agentEnv: Env;
  /**
   * Whether the engine reports a container killed for its memory as such. Podman cannot where conmon cannot watch
   * the container's memory cgroup (docs/agent.md): the job then ends as any job killed (137) does.
   */
  oomReported: boolean;
}

/** Defines the suite for `runtime`; skipped when the runtime is not `available` (see requires()). */
export function wholeSystemSuite(runtime: RuntimeKind, available: boolean, variant?: SuiteVariant): void {
  // Containers, whether Docker's engine runs them here or on a Slurm node: memory limits apply.
  const isolated = runtime !== "local";
  const name = variant?.name ?? runtime;
  const agentEnv = variant?.agentEnv;
  const oomReported = variant?.oomReported ?? true;

  describe.skipIf(!available)(
    `the whole system over the ${name} runtime`,
    { timeout: TEST_TIMEOUT_MS },
    () => {
      let ws: WholeSystem;
      let stopAgent: () => Promise<void>;
      const repos: string[] = [];
      beforeAll(async () => {
        ws = await startWholeSystem({
          runtime,
          agentEnv,
          controllerEnv: {
            TEST_JOB_MEMORY_LIMIT: MEMORY_LIMIT,
            MAX_TASK_RETRIES: String(CONTROLLER_RETRIES),
          },
        });
        const agent = ws.startAgent();
        stopAgent = () => agent.stop();
      });
      afterAll(async () => {
        await stopAgent?.();
        await ws?.close();
        for (const repo of repos) await removeDir(repo);
      });

      const logDir = (job: StatusJob) =>
        join(ws.highPrivacy, "logs", month(job.created_at), `os-job-${job.identifier}`);

      test("run_all: a dataset and two analyses succeed; outputs, level 4, manifest and logs on disk", async () => {
        const repo = await studyRepo(STUDY);
        repos.push(repo.path);
        const rapId = await createRap(ws.system, repo, ["run_all"], { workspace: "study" });
        const jobs = await ws.untilFinal(rapId);

        expect(Object.keys(jobs).sort()).toEqual(["count_patients", "list_patients", "make_dataset"]);
        for (const action of ["make_dataset", "count_patients"]) {
          expect(jobs[action], action).toMatchObject({
            status: "succeeded",
            status_code: "succeeded",
            status_message: StatusMessage.Succeeded,
          });
        }
        expect(jobs.list_patients).toMatchObject({
          status: "succeeded",
          status_code: "succeeded",
          status_message:
            "Completed successfully, but some file(s) marked as moderately_sensitive were excluded. See job log for details.",
        });
        // Jobs this short may end before the first resource sample: their metrics are then {}.
        for (const job of Object.values(jobs)) {
          expect(job.metrics).toBeTypeOf("object");
          if (Object.keys(job.metrics).length > 0) expect(job.metrics).toHaveProperty("cpu_peak");
        }

        const high = join(ws.highPrivacy, "workspaces", "study");
        const medium = join(ws.mediumPrivacy, "workspaces", "study");
        expect(await listFiles(high)).toEqual([
          "metadata/count_patients.log",
          "metadata/list_patients.log",
          "metadata/make_dataset.log",
          "output/counts.csv",
          "output/dataset.csv",
          "output/patients.csv",
        ]);
        expect(await readFile(join(high, "output/counts.csv"), "utf8")).toBe("patients\n3\n");
        expect(await readFile(join(high, "output/patients.csv"), "utf8")).toBe(
          "patient_id,age\n1,34\n2,51\n3,27\n",
        );
        expect(await listFiles(medium)).toEqual([
          "metadata/count_patients.log",
          "metadata/list_patients.log",
          "metadata/make_dataset.log",
          "metadata/manifest.json",
          "output/counts.csv",
          "output/patients.csv.txt",
        ]);
        expect(await readFile(join(medium, "output/counts.csv"), "utf8")).toBe("patients\n3\n");
        expect(await readFile(join(medium, "output/patients.csv.txt"), "utf8")).toBe(PATIENT_ID_MESSAGE);

        const manifest = await readJson(join(medium, "metadata/manifest.json"));
        expect(manifest.workspace).toBe("study");
        expect(Object.keys(manifest.outputs).sort()).toEqual([
          "output/counts.csv",
          "output/dataset.csv",
          "output/patients.csv",
        ]);
        const entry = (action: string) => ({
          job_id: jobs[action].identifier,
          job_request: rapId,
          action,
          commit: repo.commit,
        });
        expect(manifest.outputs["output/dataset.csv"]).toMatchObject({
          ...entry("make_dataset"),
          level: "highly_sensitive",
          excluded: false,
        });
        expect(manifest.outputs["output/counts.csv"]).toMatchObject({
          ...entry("count_patients"),
          level: "moderately_sensitive",
          excluded: false,
          message: null,
          row_count: 1,
          col_count: 1,
          size: "patients\n3\n".length,
        });
        expect(manifest.outputs["output/patients.csv"]).toMatchObject({
          ...entry("list_patients"),
          level: "moderately_sensitive",
          excluded: true,
          message: "File has patient_id column",
        });

        for (const [action, printed] of [
          ["make_dataset", "dataset written"],
          ["count_patients", "counted 3"],
          ["list_patients", "listed"],
        ] as const) {
          const job = jobs[action];
          const dir = logDir(job);
          const logs = await readFile(join(dir, "logs.txt"), "utf8");
          expect(logs).toContain(`${printed}\n`);
          expect(logs).toContain("\n=============JOB SUMMARY=============\n");
          expect(logs).toContain(`job_definition_id: ${job.identifier}\n`);
          expect(logs).toContain(`job_definition_rap_id: ${rapId}\n`);
          expect(logs).toContain("exit_code: 0\n");
          expect(await readFile(join(high, "metadata", `${action}.log`), "utf8")).toBe(logs);
          expect(await readFile(join(medium, "metadata", `${action}.log`), "utf8")).toBe(logs);
          const metadata = await readJson(join(dir, "metadata.json"));
          expect(metadata).toMatchObject({
            job_definition_id: job.identifier,
            job_definition_rap_id: rapId,
            task_id: `${job.identifier}-001`,
            exit_code: "0",
            commit: repo.commit,
            cancelled: false,
            error: null,
          });
        }
        const listLogs = await readFile(join(logDir(jobs.list_patients), "logs.txt"), "utf8");
        expect(listLogs).toContain(
          "\n\nInvalid moderately_sensitive outputs:\n  output/patients.csv  - File has patient_id column",
        );
        // Every job's volume is cleaned up.
        expect(await readdir(join(ws.highPrivacy, "volumes"))).toEqual([]);
      });

      test("failures: a nonzero exit, running out of memory, unmatched patterns and a cancelled job", async () => {
        const repo = await studyRepo(FAILURES);
        repos.push(repo.path);
        const actions = ["exit_error", "unmatched", "sleeper", ...(isolated ? ["out_of_memory"] : [])];
        const rapId = await createRap(ws.system, repo, actions, { workspace: "failures" });

        const running = await ws.until(rapId, (jobs) => jobs.sleeper.status_code === "executing");
        const cancel = await ws.system.post("/rap/cancel/", { rap_id: rapId, actions: ["sleeper"] });
        expect(cancel.status, JSON.stringify(cancel.json)).toBe(200);
        const jobs = await ws.untilFinal(rapId);
        await ws.untilNoActiveTasks();

        expect(jobs.exit_error).toMatchObject({
          status: "failed",
          status_code: "nonzero_exit",
          status_message: "Job exited with an error",
        });
        expect(jobs.unmatched).toMatchObject({
          status: "failed",
          status_code: "unmatched_patterns",
          status_message: StatusMessage.UnmatchedPatterns,
        });
        expect(jobs.sleeper).toMatchObject({
          status: "failed",
          status_code: "cancelled_by_user",
          status_message: StatusMessage.CancelledByUser,
        });
        if (isolated) {
          expect(jobs.out_of_memory).toMatchObject({
            status: "failed",
            status_code: "nonzero_exit",
            status_message: oomReported
              ? `Job exited with an error: Job ran out of memory (limit was ${MEMORY_LIMIT_GB}GB)`
              : "Job exited with an error: Job killed by OpenSAFELY admin or memory limits",
          });
        }
        // The cancelled job's container and volume are gone, and it left no outputs.
        expect(await ws.runtime.inspect(`os-job-${running.sleeper.identifier}`)).toBeNull();
        expect(existsSync(join(ws.highPrivacy, "volumes", running.sleeper.identifier))).toBe(false);
        const high = join(ws.highPrivacy, "workspaces", "failures");
        expect(existsSync(join(high, "output/slept.txt"))).toBe(false);
        const cancelled = await readJson(join(logDir(jobs.sleeper), "metadata.json"));
        expect(cancelled).toMatchObject({
          cancelled: true,
          task_id: `${jobs.sleeper.identifier}-001-cancel`,
        });

        // A failed job's outputs still reach the high privacy workspace; the unmatched job's log explains.
        expect(await readFile(join(high, "output/exit.txt"), "utf8")).toBe("partial\n");
        const exitMetadata = await readJson(join(logDir(jobs.exit_error), "metadata.json"));
        expect(exitMetadata).toMatchObject({ exit_code: "3", status_message: null });
        const unmatchedLog = await readFile(join(logDir(jobs.unmatched), "logs.txt"), "utf8");
        expect(unmatchedLog).toContain("No outputs found matching patterns:\n - output/right.txt");
        expect(unmatchedLog).toContain(
          "Did you mean to match one of these files instead?\n - output/wrong.txt",
        );
        if (isolated) {
          const oom = await readJson(join(logDir(jobs.out_of_memory), "metadata.json"));
          expect(oom).toMatchObject({ exit_code: "137", oom_killed: oomReported });
        }
      });

      test("an archived workspace: the agent reports its error, the controller retries, then gives up", async () => {
        const repo = await studyRepo(STUDY);
        repos.push(repo.path);
        const archives = join(ws.highPrivacy, "archives");
        await mkdir(archives, { recursive: true });
        await writeFile(join(archives, `${ARCHIVED_WORKSPACE}.tar.gz`), "");
        const rapId = await createRap(ws.system, repo, ["make_dataset"], { workspace: ARCHIVED_WORKSPACE });
        const jobs = await ws.untilFinal(rapId);

        expect(jobs.make_dataset).toMatchObject({
          status: "failed",
          status_code: "internal_error",
          status_message: StatusMessage.InternalError,
        });
        const metadata = await readJson(join(logDir(jobs.make_dataset), "metadata.json"));
        expect(metadata.task_id).toBe(`${jobs.make_dataset.identifier}-00${CONTROLLER_RETRIES}`);
        expect(metadata.error).toMatchObject({
          message: `Workspace ${ARCHIVED_WORKSPACE} has been archived. Contact the OpenSAFELY tech team to resolve`,
        });
        expect(existsSync(join(ws.highPrivacy, "workspaces", ARCHIVED_WORKSPACE))).toBe(false);
      });
    },
  );

  describe.skipIf(!available)(
    `an agent killed mid-job and restarted, over the ${name} runtime`,
    { timeout: TEST_TIMEOUT_MS },
    () => {
      let ws: WholeSystem;
      let repo: { path: string; commit: string };
      beforeAll(async () => {
        ws = await startWholeSystem({ runtime, agentEnv });
        repo = await studyRepo(SLOW);
      });
      afterAll(async () => {
        await ws?.close();
        if (repo) await removeDir(repo.path);
      });

      test("the job carries on under the new agent and completes once, with its outputs", async () => {
        const rapId = await createRap(ws.system, repo, ["after"], { workspace: "restart" });
        const first = ws.spawnAgent();
        const executing = await ws.until(rapId, (jobs) => jobs.slow.status_code === "executing");
        await first.kill("SIGKILL");
        // The job goes on without an agent.
        const container = await ws.runtime.inspect(`os-job-${executing.slow.identifier}`);
        expect(container, first.output()).toMatchObject({ running: true });

        const second = ws.spawnAgent();
        const jobs = await ws.untilFinal(rapId).catch((error) => {
          throw new Error(`${error.message}\nagent output:\n${second.output()}`);
        });
        await second.kill("SIGTERM");

        for (const action of ["slow", "after"]) {
          expect(jobs[action], action).toMatchObject({
            status: "succeeded",
            status_message: StatusMessage.Succeeded,
          });
        }
        // Sampled by both agents over its seconds of running.
        expect(Object.keys(jobs.slow.metrics).sort()).toEqual([
          "container_id",
          "cpu_cumsum",
          "cpu_mean",
          "cpu_peak",
          "cpu_sample",
          "mem_mb_cumsum",
          "mem_mb_mean",
          "mem_mb_peak",
          "mem_mb_sample",
        ]);
        const high = join(ws.highPrivacy, "workspaces", "restart");
        expect(await readFile(join(high, "output/slow.csv"), "utf8")).toBe("n\n1\n");
        expect(await readFile(join(high, "output/after.txt"), "utf8")).toBe("n\n1\n");
        // One run of the job, on its first task: nothing repeated, nothing lost.
        const log = await readFile(join(high, "metadata/slow.log"), "utf8");
        expect(log.match(/slow started/g)).toHaveLength(1);
        expect(log).toContain("slow done\n");
        const metadata = await readJson(
          join(
            ws.highPrivacy,
            "logs",
            month(jobs.slow.created_at),
            `os-job-${jobs.slow.identifier}`,
            "metadata.json",
          ),
        );
        expect(metadata).toMatchObject({ task_id: `${jobs.slow.identifier}-001`, exit_code: "0" });
        await ws.untilNoActiveTasks();
      });
    },
  );
}
