/**
 * The scheduler's commands as an operator runs them (the built `rap`): `rap tick` runs one pass and logs each status
 * change, `rap prepare-for-reboot` asks first and prints the reference's report, and `rap controller` runs the loop.
 */
import { spawn } from "node:child_process";
import { hostname } from "node:os";
import { afterEach, expect, test } from "vitest";
import { deterministicJobId } from "../../src/domain/ids.js";
import { FX_ACT } from "../jobs/fixtures.js";
import { createRap, studyRepo } from "../scheduler/support.js";
import { cliPath, runCli } from "../support/cli.js";
import { freePort } from "../support/ports.js";
import { SYSTEM_ENV, type System, startSystem } from "../support/system.js";

let system: System;
afterEach(async () => system?.close());

const envFor = (s: System, extra: Record<string, string> = {}) => ({
  ...(SYSTEM_ENV as Record<string, string>),
  ...s.databaseEnv,
  WORKDIR: s.workdir,
  ...extra,
});

test("rap tick runs exactly one pass on the database and logs one line per status change", async () => {
  system = await startSystem();
  const rap = await createRap(system, await studyRepo(FX_ACT), ["action1", "action2"]);
  const result = await runCli(["tick"], envFor(system, { TEST_MAX_WORKERS: "1" }));
  expect(result.code).toBe(0);
  const lines = result.stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));
  const changes = lines.filter((line) => line.job);
  expect(changes.map((line) => [line.action, line.from, line.to, line.msg])).toEqual([
    ["action1", "created", "initiated", "Job executing on the backend"],
    ["action2", "created", "waiting_on_workers", "Waiting on available workers"],
  ]);
  expect(changes[0]).toMatchObject({ job: deterministicJobId(rap, "action1"), workspace: "workspace", rap });
  expect(lines.at(-1)).toMatchObject({ msg: "scheduler pass done", jobs: 2, changed: 2, failed: 0 });
  expect((await system.jobs(rap)).action1.status).toBe("running");
  // LOGLEVEL is respected.
  expect((await runCli(["tick"], envFor(system, { LOGLEVEL: "warn" }))).stdout).toBe("");
});

test("rap prepare-for-reboot asks before acting, then stops running jobs and prints the reference's report", async () => {
  system = await startSystem();
  const rap = await createRap(system, await studyRepo(FX_ACT), ["action1"]);
  await system.tick();
  const env = envFor(system);

  const status = await runCli(["prepare-for-reboot", "--backend", "test", "--status"], env);
  expect(status.stdout).toBe(
    "\n== PREPARING FOR REBOOT ==\n1) backend 'test' is not paused\n2) 1 job(s) are running\nBackend 'test' is not paused. Run prepare_for_reboot, then check the status again\n",
  );

  const declined = await runCli(["prepare-for-reboot", "--backend", "test"], env, "n\n");
  expect(declined.code).toBe(1);
  expect(declined.stdout).toContain("DANGER ZONE");
  expect(declined.stdout).toContain("Are you sure you want to continue? (y/N)");
  expect((await system.jobs(rap)).action1.status).toBe("running");

  const confirmed = await runCli(["prepare-for-reboot", "--backend", "test"], env, "y\n");
  expect(confirmed.code).toBe(0);
  expect(confirmed.stdout).toContain(
    "\n== PREPARING FOR REBOOT ==\n1) backend 'test' is paused\n2) 0 job(s) are running\n3) 1 job(s) are being cancelled\n",
  );
  expect((await system.jobs(rap)).action1).toMatchObject({
    status: "pending",
    status_code: "waiting_on_reboot",
  });
  expect((await runCli(["flags", "get", "paused", "--backend", "test"], env)).stdout).toMatch(
    /^\[test\] paused=true \(/,
  );
  expect((await runCli(["prepare-for-reboot", "--backend", "nowhere", "-y"], env)).stderr).toContain(
    "Unknown backend 'nowhere', allowed are: test",
  );
});

test("rap controller runs the scheduler loop: a created job starts without anyone calling tick", async () => {
  system = await startSystem();
  const rap = await createRap(system, await studyRepo(FX_ACT), ["action1"]);
  const child = spawn(process.execPath, [cliPath, "controller"], {
    env: {
      PATH: process.env.PATH ?? "",
      ...envFor(system, { PORT: String(await freePort()), JOB_LOOP_INTERVAL: "0.05" }),
    },
    stdio: "ignore",
  });
  try {
    let status = "pending";
    for (let i = 0; i < 200 && status !== "running"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      status = (await system.jobs(rap)).action1.status;
    }
    expect(status).toBe("running");
  } finally {
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
  }
});

test("rap tick beside a running rap controller says who holds the scheduler lease and exits 1; --wait runs once it is free", async () => {
  system = await startSystem();
  const rap = await createRap(system, await studyRepo(FX_ACT), ["action1"]);
  const env = envFor(system, { JOB_LOOP_INTERVAL: "0.05" });
  const controller = spawn(process.execPath, [cliPath, "controller"], {
    env: { PATH: process.env.PATH ?? "", ...env, PORT: String(await freePort()) },
    stdio: "ignore",
  });
  const stopped = new Promise((resolve) => controller.once("exit", resolve));
  try {
    // The controller's loop holds the lease once it has run a pass.
    for (let i = 0; i < 200 && (await system.jobs(rap)).action1.status !== "running"; i++)
      await new Promise((resolve) => setTimeout(resolve, 50));

    const refused = await runCli(["tick"], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      new RegExp(
        `^Another scheduler holds the lease \\(pid ${controller.pid} on ${hostname()}, until \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\\): no pass was run\\. Stop it first, or run \`rap tick --wait\` to run the pass once it is free\\.\\n$`,
      ),
    );
    expect(refused.stdout).toBe("");

    const waiting = runCli(["tick", "--wait"], env);
    controller.kill("SIGTERM");
    await stopped;
    const waited = await waiting;
    expect(waited.code).toBe(0);
    expect(JSON.parse(waited.stdout.trim().split("\n").at(-1)!)).toMatchObject({
      msg: "scheduler pass done",
    });
    // Each released the lease when it was done: a plain tick runs at once.
    expect((await runCli(["tick"], env)).code).toBe(0);
  } finally {
    controller.kill("SIGTERM");
    await stopped;
  }
});
