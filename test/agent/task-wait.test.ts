/**
 * The agent's long poll (issue 18): against our controller (real HTTP, real database) a new task reaches a waiting
 * agent as soon as it exists, whatever JOB_LOOP_INTERVAL; against a controller that does not wait (the recording
 * test double answers as the reference does: at once, no ETag) the agent polls every JOB_LOOP_INTERVAL as before.
 */
import { afterEach, describe, expect, test } from "vitest";
import { type AgentParts, createAgent } from "../../src/agent/index.js";
import { silentLogger } from "../../src/agent/log.js";
import { TaskApiClient } from "../../src/agent/task-api.js";
import { insertTask } from "../../src/db/queries/tasks.js";
import { type Clock, systemClock } from "../../src/domain/clock.js";
import { type JobDefinition, TaskType } from "../../src/domain/task.js";
import { type System, startSystem } from "../support/system.js";
import { FakeController } from "./fake-controller.js";
import { type AgentFixture, agentFixture } from "./support.js";

const HOUR_MS = 3_600_000;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function ourController(): Promise<System<Clock>> {
  // Real time: the controller refuses updates timed a day ahead of its clock.
  const system = await startSystem({}, { clock: systemClock });
  cleanups.push(() => system.close());
  return system;
}

function client(endpoint: string, token: string) {
  return new TaskApiClient({ endpoint, backend: "test", token, retryDelaysMs: [], log: silentLogger });
}

async function insertRunJob(system: System<Clock>, job: JobDefinition) {
  await insertTask(system.db, {
    id: job.task_id,
    backend: "test",
    type: TaskType.RunJob,
    jobId: job.id,
    definition: job as unknown as Record<string, unknown>,
    attributes: {},
    createdAt: 1_700_000_000,
  });
}

describe("TaskApiClient.waitForTasks", () => {
  test("against our controller: answered at once with a tag, then once the list changes", async () => {
    const system = await ourController();
    const api = client(`${system.url}/`, "agent_token");
    const first = await api.waitForTasks(null, HOUR_MS);
    expect(first.tasks).toEqual([]);
    expect(first.tag).not.toBeNull();
    const waiting = api.waitForTasks(first.tag, HOUR_MS);
    const f = await agentFixture();
    cleanups.push(() => f.cleanup());
    const job = f.job();
    await insertRunJob(system, job);
    const changed = await waiting;
    expect(changed.tasks.map((t) => t.id)).toEqual([job.task_id]);
    expect(changed.tag).not.toBe(first.tag);
  });

  test("against a controller that does not wait: answered at once, without a tag", async () => {
    const controller = await new FakeController().start();
    cleanups.push(() => controller.stop());
    const answer = await client(controller.url, "test-token").waitForTasks(null, HOUR_MS);
    expect(answer).toEqual({ tasks: [], tag: null });
    expect(controller.requests.map((r) => r.path)).toEqual(["/test/tasks/"]);
  });
});

describe("the agent loop", () => {
  async function agentOn(endpoint: string, token: string): Promise<{ f: AgentFixture; agent: AgentParts }> {
    const f = await agentFixture({
      CONTROLLER_TASK_API_ENDPOINT: endpoint,
      CONTROLLER_TASK_API_TOKEN: token,
      JOB_LOOP_INTERVAL: "3600",
    });
    cleanups.push(() => f.cleanup());
    const agent = createAgent(f.config, f.runtime, { log: silentLogger, retryBaseMs: 0 });
    const stop = new AbortController();
    const running = agent.loop.run(stop.signal);
    cleanups.push(async () => {
      stop.abort();
      await running;
    });
    return { f, agent };
  }

  test("starts a task as soon as our controller has it, not at its next JOB_LOOP_INTERVAL (an hour)", async () => {
    const system = await ourController();
    const { f } = await agentOn(`${system.url}/`, "agent_token");
    // The agent's first poll (answered at once) and its wait have begun.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const job = f.job();
    // The job runs until the test ends: prepared, then started at once, either may be the stage seen.
    f.runtime.program = () => () => new Promise<number>(() => {});
    await insertRunJob(system, job);
    let stage: string | null | undefined;
    while (!stage || stage === "preparing") {
      await new Promise((resolve) => setTimeout(resolve, 20));
      stage = (await system.controller.storage.tasks.get(job.task_id))?.agentStage;
    }
    expect(["prepared", "executing"]).toContain(stage);
  });

  test("polls a controller that does not wait once per JOB_LOOP_INTERVAL, as before", async () => {
    const controller = await new FakeController().start();
    cleanups.push(() => controller.stop());
    await agentOn(controller.url, "test-token");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(controller.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["GET /test/tasks/"]);
  });
});
