/**
 * The status log and job spans hear of a change only once it has committed: a change whose transaction rolls back
 * was never made, so it is neither logged nor traced.
 */
import pino from "pino";
import { afterEach, expect, test } from "vitest";
import { deterministicJobId } from "../../src/domain/ids.js";
import type { JobObserver } from "../../src/domain/job-observer.js";
import { cancelJobTaskId, runJobTaskId, TaskType } from "../../src/domain/task.js";
import { prepareForReboot } from "../../src/ops/reboot.js";
import { FX_ACT } from "../jobs/fixtures.js";
import { type System, startSystem } from "../support/system.js";
import { createRap, studyRepo } from "./support.js";

let system: System;
afterEach(async () => system?.close());

test("a change that rolls back is not told to the observers; one that commits is told once", async () => {
  system = await startSystem();
  const rap = await createRap(system, await studyRepo(FX_ACT), ["action1"]);
  await system.tick();
  const jobId = deterministicJobId(rap, "action1");
  const heard: string[] = [];
  const recorder: JobObserver = {
    statusChanged: (job, change) => heard.push(`${job.id} ${change.from} → ${job.statusCode}`),
  };
  const reboot = () =>
    prepareForReboot(
      {
        storage: system.controller.storage,
        config: system.controller.config,
        clock: system.clock,
        log: pino({ level: "silent" }),
        observers: [recorder],
      },
      "test",
    );
  // A task already holding the cancel task's id makes the cancel fail after the job's status was written.
  const cancelId = cancelJobTaskId(runJobTaskId(jobId, 1));
  await system.controller.storage.tasks.insert({
    id: cancelId,
    backend: "test",
    type: TaskType.CancelJob,
    jobId,
    definition: {},
    attributes: {},
    createdAt: 0,
  });

  await expect(reboot()).rejects.toThrow();
  expect(heard).toEqual([]);
  expect((await system.jobs(rap)).action1).toMatchObject({ status: "running", status_code: "initiated" });

  await system.db.deleteFrom("tasks").where("id", "=", cancelId).execute();
  expect(await reboot()).toBe(1);
  expect(heard).toEqual([`${jobId} initiated → waiting_on_reboot`]);
});
