/** Log lines about one job carry its id, action, workspace and backend, so one filter finds them all. */
import { Writable } from "node:stream";
import pino from "pino";
import { afterEach, expect, test } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import { deterministicJobId } from "../../src/domain/ids.js";
import { Scheduler } from "../../src/scheduler/scheduler.js";
import { FX_ACT } from "../jobs/fixtures.js";
import { SYSTEM_ENV, type System, startSystem } from "../support/system.js";
import { createRap, studyRepo } from "./support.js";

let system: System;
afterEach(async () => system?.close());

test("an error handling a job is logged with the job's id, action, workspace and backend; a pass's report at debug", async () => {
  system = await startSystem();
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const scheduler = new Scheduler({
    storage: system.controller.storage,
    config: loadConfig({ ...SYSTEM_ENV, WORKDIR: system.workdir }),
    clock: system.clock,
    digests: {
      resolve: async () => {
        throw new Error("the registry client broke");
      },
    },
    log: pino({ level: "debug" }, sink),
  });
  const rap = await createRap(system, await studyRepo(FX_ACT), ["action1"]);
  await scheduler.tick();

  const error = lines.find((line) => line.msg === "error handling job");
  expect(error).toMatchObject({
    job: deterministicJobId(rap, "action1"),
    action: "action1",
    workspace: "workspace",
    backend: "test",
    failures: 1,
  });
  const report = lines.find((line) => line.msg === "scheduler pass");
  expect(report).toMatchObject({ level: 20, jobs: 1, changed: 0, failed: 1 });
  expect(typeof report?.seconds).toBe("number");
});
