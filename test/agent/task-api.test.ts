import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { silentLogger } from "../../src/agent/log.js";
import { TaskApiClient, TaskApiError } from "../../src/agent/task-api.js";
import type { AgentTask } from "../../src/domain/task.js";
import { FakeController } from "./fake-controller.js";

const TASK: AgentTask = {
  id: "t1",
  backend: "test",
  type: "dbstatus",
  definition: { database_name: "default" },
  attributes: {},
  created_at: 1,
};

describe("TaskApiClient (against a recording test double of the controller)", () => {
  let controller: FakeController;
  beforeEach(async () => {
    controller = await new FakeController().start();
  });
  afterEach(() => controller.stop());

  const client = (overrides: Partial<ConstructorParameters<typeof TaskApiClient>[0]> = {}) =>
    new TaskApiClient({
      endpoint: controller.url,
      backend: "test",
      token: "test-token",
      retryDelaysMs: [1, 1],
      log: silentLogger,
      ...overrides,
    });

  test("GET {endpoint}{backend}/tasks/ with the raw token; tasks returned", async () => {
    controller.tasks = [TASK, { ...TASK, id: "bad", type: "nonsense" as never }];
    expect(await client().getTasks()).toEqual([TASK]);
    expect(controller.requests).toEqual([
      { method: "GET", path: "/test/tasks/", authorization: "test-token", contentType: undefined, body: "" },
    ]);
  });

  test("update posts one form field `payload` holding the JSON", async () => {
    const update = { task_id: "t1", stage: "", results: { a: 1 }, complete: true, timestamp_ns: null };
    await client().update(update);
    const request = controller.requests[0]!;
    expect(request).toMatchObject({
      method: "POST",
      path: "/test/task/update/",
      contentType: "application/x-www-form-urlencoded",
    });
    expect([...new URLSearchParams(request.body).keys()]).toEqual(["payload"]);
    expect(JSON.parse(new URLSearchParams(request.body).get("payload")!)).toEqual(update);
  });

  test("urljoin semantics for the base URL", () => {
    expect(
      new TaskApiClient({ endpoint: "http://h:8000/", backend: "tpp", token: "", log: silentLogger }).baseUrl,
    ).toBe("http://h:8000/tpp");
    expect(
      new TaskApiClient({ endpoint: "https://h/api", backend: "tpp", token: "", log: silentLogger }).baseUrl,
    ).toBe("https://h/tpp");
  });

  test("5xx is retried with backoff, then raised; 4xx is not retried", async () => {
    controller.failWith = 500;
    const error = await client()
      .getTasks()
      .catch((e) => e);
    expect(error).toBeInstanceOf(TaskApiError);
    expect(error.status).toBe(500);
    expect(controller.requests).toHaveLength(3);

    controller.failWith = null;
    controller.requests.length = 0;
    const unauthorised = await client({ token: "wrong" })
      .getTasks()
      .catch((e) => e);
    expect(unauthorised.status).toBe(401);
    expect(controller.requests).toHaveLength(1);
    expect(unauthorised.message).not.toContain("wrong");
  });

  test("an unreachable controller is a TaskApiError after the retries; the token is not in the message", async () => {
    await controller.stop();
    const error = await client({ token: "s3cret" })
      .getTasks()
      .catch((e) => e);
    expect(error).toBeInstanceOf(TaskApiError);
    expect(error.status).toBeNull();
    expect(error.message).not.toContain("s3cret");
  });

  test("a controller that never answers times out", async () => {
    const { createServer } = await import("node:http");
    const hanging = createServer(() => {});
    await new Promise<void>((resolve) => hanging.listen(0, "127.0.0.1", resolve));
    const port = (hanging.address() as { port: number }).port;
    try {
      const error = await new TaskApiClient({
        endpoint: `http://127.0.0.1:${port}/`,
        backend: "test",
        token: "t",
        timeoutMs: 50,
        retryDelaysMs: [],
        log: silentLogger,
      })
        .getTasks()
        .catch((e) => e);
      expect(error).toBeInstanceOf(TaskApiError);
      expect(error.message).toContain("timed out after 50 ms");
    } finally {
      hanging.closeAllConnections();
      hanging.close();
    }
  });
});
