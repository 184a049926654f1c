/**
 * The HTTP app wakes the scheduler (issue 18) when there is something for it to do now rather than at its next pass:
 * a create that committed jobs, and an agent's update that completes a task or moves it to another stage. A counter
 * stands in for the scheduler's wake.
 */
import { afterEach, describe, expect, test } from "vitest";
import { insertTask } from "../../src/db/queries/tasks.js";
import { TaskType } from "../../src/domain/task.js";
import type { CreateJobs } from "../../src/http/app.js";
import { NothingToDoError } from "../../src/jobs/errors.js";
import { createBody, startApi, type TestApi } from "./support.js";

const AGENT = { authorization: "agent_token" };
const ENV = { BACKENDS: "test", TEST_CLIENT_TOKENS: "test_token", TEST_JOB_SERVER_TOKEN: "agent_token" };

let api: TestApi;
afterEach(async () => {
  await api?.close();
});

async function withWakes(createJobs?: CreateJobs) {
  const wakes = { count: 0 };
  api = await startApi(ENV, {
    wakeScheduler: () => {
      wakes.count += 1;
    },
    ...(createJobs ? { createJobs } : {}),
  });
  return wakes;
}

describe("a create", () => {
  test("that committed jobs wakes the scheduler once", async () => {
    const wakes = await withWakes(async () => ({ kind: "created", count: 3 }));
    expect((await api.post("/rap/create/", createBody())).status).toBe(201);
    expect(wakes.count).toBe(1);
  });

  test.each<[string, CreateJobs]>([
    [
      "nothing to do",
      async () => ({ kind: "nothing-to-do", details: "All actions have already completed successfully" }),
    ],
    [
      "nothing to do, thrown",
      async () => {
        throw new NothingToDoError("All actions have already completed successfully");
      },
    ],
    ["created by a concurrent request", async () => ({ kind: "already-created", count: 1 })],
    [
      "a failure",
      async () => {
        throw new Error("boom");
      },
    ],
  ])("that created nothing (%s) does not", async (_, createJobs) => {
    const wakes = await withWakes(createJobs);
    await api.post("/rap/create/", createBody());
    expect(wakes.count).toBe(0);
  });
});

describe("an agent's update", () => {
  const TASK = "abcdefgh23456789-001";
  async function update(stage: string, complete = false) {
    const response = await api.app.inject({
      method: "POST",
      url: "/test/task/update/",
      headers: { ...AGENT, "content-type": "application/x-www-form-urlencoded" },
      payload: new URLSearchParams({
        payload: JSON.stringify({ task_id: TASK, stage, results: {}, complete, timestamp_ns: null }),
      }).toString(),
    });
    expect(response.statusCode).toBe(200);
  }

  test("wakes the scheduler when it moves the task to another stage or completes it, not when it repeats one", async () => {
    const wakes = await withWakes();
    await insertTask(api.db, {
      id: TASK,
      backend: "test",
      type: TaskType.RunJob,
      jobId: "abcdefgh23456789",
      definition: {},
      attributes: {},
      createdAt: 1_700_000_000,
    });
    await update("preparing");
    expect(wakes.count).toBe(1);
    await update("preparing");
    expect(wakes.count).toBe(1);
    await update("executing");
    await update("executing");
    expect(wakes.count).toBe(2);
    await update("finalized", true);
    expect(wakes.count).toBe(3);
    // A late update of the completed task is ignored, and wakes nothing.
    await update("executing");
    expect(wakes.count).toBe(3);
  });
});
