/**
 * `rap snapshot-db` on the SQLite database of a running controller (src/app): a consistent copy another controller
 * can start on. On PostgreSQL it says to use pg_dump instead (test/cli/operator-basics.test.ts).
 */
import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, expect, test } from "vitest";
import { openController } from "../../src/app/controller.js";
import { loadConfig } from "../../src/config/index.js";
import { FX_ACT } from "../jobs/fixtures.js";
import { createRap, studyRepo } from "../scheduler/support.js";
import { runCli } from "../support/cli.js";
import { SYSTEM_ENV, type System, startSystem } from "../support/system.js";

let system: System;
const cleanup: string[] = [];
afterEach(async () => {
  await system?.close();
  for (const dir of cleanup.splice(0)) await rm(dir, { recursive: true, force: true });
});

test("rap snapshot-db writes a consistent copy that a controller can start on, showing the same RAPs", async () => {
  system = await startSystem();
  const rap = await createRap(system, await studyRepo(FX_ACT), ["action1", "action2"]);
  await system.tick();
  const env = { ...(SYSTEM_ENV as Record<string, string>), WORKDIR: system.workdir };
  const out = await mkdtemp(join(tmpdir(), "rap-snapshot-"));
  cleanup.push(out);
  const target = join(out, "backup.sqlite");

  const first = await runCli(["snapshot-db", target], env);
  expect(first.code).toBe(0);
  expect(first.stdout).toMatch(
    new RegExp(`^Snapshot of ${join(system.workdir, "db.sqlite")} written to ${target} \\(\\d+ bytes\\)\\n$`),
  );
  expect(await runCli(["snapshot-db", target], env)).toMatchObject({
    code: 1,
    stderr: `${target} already exists: choose another name, or --force to replace it\n`,
  });
  expect((await runCli(["snapshot-db", "--force", target], env)).code).toBe(0);
  expect((await runCli(["snapshot-db", join(out, "no", "such", "dir.sqlite")], env)).stderr).toBe(
    `directory ${join(out, "no", "such")} does not exist\n`,
  );

  const restored = join(out, "restored");
  await mkdir(restored);
  await copyFile(target, join(restored, "db.sqlite"));
  const config = loadConfig({ ...SYSTEM_ENV, WORKDIR: restored, PORT: "1" });
  const controller = await openController(config, { log: pino({ level: "silent" }), statusWorkers: 0 });
  try {
    const answer = await controller.app.inject({
      method: "POST",
      url: "/controller/v1/rap/status/",
      headers: { authorization: "test_token" },
      payload: JSON.stringify({ rap_ids: [rap] }),
    });
    const jobs = (answer.json() as { jobs: { action: string }[] }).jobs;
    const original = await system.jobs(rap);
    expect(Object.fromEntries(jobs.map((job) => [job.action, job]))).toEqual(original);
    expect(Object.keys(original).sort()).toEqual(["action1", "action2"]);
  } finally {
    await controller.close();
  }
});
