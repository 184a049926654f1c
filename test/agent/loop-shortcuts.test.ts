/**
 * The running agent loop moves a job on without waiting for its next poll where it can (src/agent/loop.ts): a
 * prepared job is started in the same handling, and a job is finalized as soon as its container ends. Against a
 * recording test double of the controller that does not wait, polled once per JOB_LOOP_INTERVAL, with the fake
 * runtime.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, expect, test } from "vitest";
import { createAgent } from "../../src/agent/index.js";
import { silentLogger } from "../../src/agent/log.js";
import { runJobTask } from "../support/job-definitions.js";
import { FakeController } from "./fake-controller.js";
import { deferred } from "./fake-runtime.js";
import { type AgentFixture, agentFixture, writes } from "./support.js";

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(5);
}

async function runningAgent(jobLoopInterval: string) {
  const controller = await new FakeController().start();
  cleanups.push(() => controller.stop());
  const f: AgentFixture = await agentFixture({
    CONTROLLER_TASK_API_ENDPOINT: controller.url,
    CONTROLLER_TASK_API_TOKEN: "test-token",
    JOB_LOOP_INTERVAL: jobLoopInterval,
  });
  cleanups.push(() => f.cleanup());
  const agent = createAgent(f.config, f.runtime, { log: silentLogger, retryBaseMs: 0 });
  const stop = new AbortController();
  let running: Promise<void> | undefined;
  const stopped = async () => {
    stop.abort();
    await running;
  };
  cleanups.push(stopped);
  return { controller, f, start: () => (running = agent.loop.run(stop.signal)), stopped };
}

test("polled once an hour, one poll takes a job from its task to finalized, every stage reported in order", async () => {
  const { controller, f, start } = await runningAgent("3600");
  const job = f.job();
  const gate = deferred();
  f.runtime.program = () => async (ctx) => {
    await gate.promise;
    return writes({ "output/counts.csv": "a\n1\n" })(ctx);
  };
  controller.tasks = [runJobTask(job)];
  start();
  await waitFor(() => controller.stagesOf(job.task_id).includes("executing"));
  expect(controller.stagesOf(job.task_id)).toEqual(["preparing", "prepared", "executing"]);

  gate.resolve();
  await waitFor(() => controller.stagesOf(job.task_id).includes("finalized"));
  expect(controller.stagesOf(job.task_id)).toEqual([
    "preparing",
    "prepared",
    "executing",
    "finalizing",
    "finalized",
  ]);
  expect(controller.updatesOf(job.task_id).at(-1)).toMatchObject({ complete: true });
  expect(controller.requests.filter((r) => r.method === "GET")).toHaveLength(1);
});

test("a task the controller dropped while its job was being prepared (a cancel) is not started", async () => {
  const { controller, f, start, stopped } = await runningAgent("0");
  const job = f.job();
  const release = deferred();
  f.runtime.beforeEnsureImage = async () => {
    await release.promise;
  };
  controller.tasks = [runJobTask(job)];
  start();
  await waitFor(() => controller.stagesOf(job.task_id).includes("preparing"));
  controller.tasks = [];
  const polls = controller.requests.length;
  await waitFor(() => controller.requests.length > polls);

  release.resolve();
  await waitFor(() => controller.stagesOf(job.task_id).includes("prepared"));
  // Stopping waits for the handler in flight, so whatever it was going to start has started by now.
  await stopped();
  expect(controller.stagesOf(job.task_id)).toEqual(["preparing", "prepared"]);
  expect(f.runtime.started).toEqual([]);
});

test("stopping the loop ends its watches of running containers at once", async () => {
  const { controller, f, start, stopped } = await runningAgent("3600");
  const job = f.job();
  f.runtime.program = () => () => new Promise<number>(() => {});
  controller.tasks = [runJobTask(job)];
  start();
  await waitFor(() => controller.stagesOf(job.task_id).includes("executing"));
  await stopped();
  expect(controller.stagesOf(job.task_id)).toEqual(["preparing", "prepared", "executing"]);
});
