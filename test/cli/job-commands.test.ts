/**
 * The operator's job commands as the built `rap` runs them, on the database of a running controller (src/app):
 * `rap jobs` (table and --json), `rap cancel` and `rap logs [-f]` (`rap snapshot-db`: ./snapshot-db.test.ts).
 */
import { spawn } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { deterministicJobId } from "../../src/domain/ids.js";
import { FX_ACT } from "../jobs/fixtures.js";
import { createRap, studyRepo } from "../scheduler/support.js";
import { cliPath, runCli } from "../support/cli.js";
import { SYSTEM_ENV, type System, startSystem } from "../support/system.js";
import { finishedResults } from "../support/test-agent.js";

let system: System;
const cleanup: string[] = [];
afterEach(async () => {
  await system?.close();
  for (const dir of cleanup.splice(0)) await rm(dir, { recursive: true, force: true });
});

const envOf = (s: System) => ({
  ...(SYSTEM_ENV as Record<string, string>),
  ...s.databaseEnv,
  WORKDIR: s.workdir,
});

/** A RAP of action1 (running: the only worker) and action2 (waiting on workers). */
async function runningRap(): Promise<{ rap: string; job1: string; job2: string }> {
  system = await startSystem({ TEST_MAX_WORKERS: "1" });
  const rap = await createRap(system, await studyRepo(FX_ACT), ["action1", "action2"]);
  await system.tick();
  return { rap, job1: deterministicJobId(rap, "action1"), job2: deterministicJobId(rap, "action2") };
}

test("rap jobs lists jobs newest first as a table, filters them, and prints rap/status's shape with --json", async () => {
  const { rap, job1, job2 } = await runningRap();
  const env = envOf(system);

  const table = await runCli(["jobs"], env);
  expect(table.code).toBe(0);
  const lines = table.stdout.trimEnd().split("\n");
  expect(lines[0]).toMatch(/^JOB +RAP +BACKEND +WORKSPACE +ACTION +STATE +CODE +UPDATED +MESSAGE$/);
  // Created in the same second: the later insertion first.
  expect(lines.slice(1).map((line) => line.split(/ {2,}/))).toEqual([
    [
      job2,
      rap,
      "test",
      "workspace",
      "action2",
      "pending",
      "waiting_on_workers",
      expect.stringMatching(/Z$/),
      "Waiting on available workers",
    ],
    [
      job1,
      rap,
      "test",
      "workspace",
      "action1",
      "running",
      "initiated",
      expect.stringMatching(/Z$/),
      "Job executing on the backend",
    ],
  ]);
  // The columns line up.
  expect(lines.map((line) => line.indexOf("test"))).toEqual([
    -1,
    lines[1]!.indexOf("test"),
    lines[1]!.indexOf("test"),
  ]);

  const running = await runCli(["jobs", "--rap", rap, "--state", "running"], env);
  expect(
    running.stdout
      .trimEnd()
      .split("\n")
      .slice(1)
      .map((line) => line.split(/ +/)[0]),
  ).toEqual([job1]);
  expect((await runCli(["jobs", "--workspace", "elsewhere"], env)).stdout).toBe("No jobs match.\n");
  const limited = await runCli(["jobs", "--limit", "1"], env);
  expect(limited.stdout.trimEnd().split("\n")).toHaveLength(3);
  expect(limited.stdout).toContain("(the newest 1 shown: --limit to see more)");
  const badState = await runCli(["jobs", "--state", "sleeping"], env);
  expect(badState.code).not.toBe(0);
  expect(badState.stderr).toContain("Allowed choices are pending, running, failed, succeeded.");
  expect((await runCli(["jobs", "--limit", "0"], env)).stderr).toContain(
    "option '--limit <n>' argument '0' is invalid. Use a whole number of 1 or more.",
  );

  const json = await runCli(["jobs", "--json"], env);
  expect(json.code).toBe(0);
  const status = await system.jobs(rap);
  expect(JSON.parse(json.stdout)).toEqual([status.action2, status.action1]);
});

test("rap cancel cancels as rap/cancel/ does, and with no actions every unfinished job of the RAP", async () => {
  const { rap, job2 } = await runningRap();
  const env = envOf(system);

  expect(await runCli(["cancel", rap, "action2", "nope", "other"], env)).toMatchObject({
    code: 1,
    stderr: `RAP ${rap} has no job for nope, other: nothing was cancelled\n`,
  });
  expect(await runCli(["cancel", "abcdefgh23456789"], env)).toMatchObject({
    code: 1,
    stderr: "No jobs found for rap_id abcdefgh23456789\n",
  });
  expect(await runCli(["cancel", rap, "action2"], env)).toMatchObject({
    code: 0,
    stdout: `Cancelled 1 unfinished job(s) of RAP ${rap}: the scheduler stops them on its next pass\n`,
  });
  expect((await runCli(["jobs", "--rap", rap], env)).stdout).toMatch(new RegExp(`${job2} .* cancelling `));
  await system.tick();
  expect((await system.jobs(rap)).action2).toMatchObject({
    status: "failed",
    status_code: "cancelled_by_user",
  });
  expect((await system.jobs(rap)).action1.status).toBe("running");

  expect(await runCli(["cancel", rap], env)).toMatchObject({
    code: 0,
    stdout: `Cancelled 1 unfinished job(s) of RAP ${rap}: the scheduler stops them on its next pass\n`,
  });
  // The running job's task is cancelled; once its agent has stopped it, nothing is left to cancel.
  await system.tick();
  const agent = system.agent();
  const cancel = (await agent.tasks()).find((task) => task.type === "canceljob");
  expect(cancel).toBeDefined();
  await agent.update(cancel!.id, "finalized", {
    complete: true,
    results: finishedResults({ cancelled: true }),
  });
  await system.tick();
  expect((await system.jobs(rap)).action1).toMatchObject({
    status: "failed",
    status_code: "cancelled_by_user",
  });
  expect(await runCli(["cancel", rap], env)).toMatchObject({
    code: 0,
    stdout: `Nothing to cancel: the jobs of RAP ${rap} have all finished\n`,
  });
});

/** Where the agent writes a job's log (reference/agent.md §3.1): the UTC month of the job's creation (T0). */
const logFile = (s: System, jobId: string) =>
  join(s.workdir, "high_privacy", "logs", "2023-11", `os-job-${jobId}`, "logs.txt");
const LOG = "hello from action1\n\n=============JOB SUMMARY=============\nexit_code: 0\n";

async function finishAction1(rap: string, job1: string) {
  const agent = system.agent();
  const task = (await agent.tasks()).find((t) => t.type === "runjob" && t.id.startsWith(job1));
  await agent.update(task!.id, "executing");
  await system.tick();
  // The agent writes the log before it reports the job finished.
  await mkdir(join(logFile(system, job1), ".."), { recursive: true });
  await writeFile(logFile(system, job1), LOG);
  await agent.finish(task!.id, finishedResults({ exit_code: 0 }));
  await system.tick();
  expect((await system.jobs(rap)).action1.status).toBe("succeeded");
}

test("rap logs prints a finished job's log from the agent's files, and says why when there is none", async () => {
  const { rap, job1, job2 } = await runningRap();
  const env = envOf(system);

  const early = await runCli(["logs", job1], env);
  expect(early.code).toBe(1);
  expect(early.stderr).toBe(
    `Job ${job1} has not finished (initiated: Job executing on the backend): its agent writes the log when it ` +
      `finishes, to ${logFile(system, job1)} on backend 'test'. Use -f to follow the job until then.\n`,
  );
  await finishAction1(rap, job1);
  expect(await runCli(["logs", job1], env)).toMatchObject({ code: 0, stdout: LOG });
  // HIGH_PRIVACY_STORAGE_BASE elsewhere (another machine's layout): the log is not there.
  const other = await runCli(["logs", job1], {
    ...env,
    HIGH_PRIVACY_STORAGE_BASE: join(system.workdir, "nowhere"),
  });
  expect(other.code).toBe(1);
  expect(other.stderr).toContain(
    `No log for job ${job1} at ${join(system.workdir, "nowhere", "logs", "2023-11")}`,
  );
  expect(other.stderr).toContain("a job's log stays on its backend's machine ('test')");
  expect(await runCli(["logs", "nosuchjob"], env)).toMatchObject({ code: 1, stderr: "No job nosuchjob\n" });
  // action2 started when action1 finished.
  expect((await runCli(["logs", job2], env)).stderr).toContain(`Job ${job2} has not finished (initiated: `);
});

test("rap logs -f prints the job's status changes until it finishes, then its log", async () => {
  const { rap, job1 } = await runningRap();
  const child = spawn(process.execPath, [cliPath, "logs", job1, "-f"], {
    env: { PATH: process.env.PATH ?? "", ...envOf(system) },
  });
  let stdout = "";
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  // Wait for its first line before moving the job on.
  while (!stdout.includes("initiated")) await new Promise((resolve) => setTimeout(resolve, 50));
  await finishAction1(rap, job1);
  expect(await exited).toBe(0);
  const [first, ...rest] = stdout.split("\n");
  expect(first).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ running initiated: Job executing on the backend$/);
  // Changes it saw meanwhile (it reads every second), then the log.
  expect(rest.join("\n").endsWith(LOG)).toBe(true);
});
