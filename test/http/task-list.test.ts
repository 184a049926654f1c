/**
 * `GET /{backend}/tasks/` (issue 18): the answer is kept until the backend's tasks change, whichever process changes
 * them; our agent's long poll (`?wait=SECONDS` with If-None-Match) is answered once the list differs from the one it
 * has, or after the wait with the same list, or at once when the controller closes; without a wait the answer is the
 * reference's; `last-seen-at` is written at most once a second per backend.
 */
import type { KyselyPlugin } from "kysely";
import { afterEach, describe, expect, test } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import type { NewTask } from "../../src/db/storage.js";
import { ManualClock } from "../../src/domain/clock.js";
import { TaskType } from "../../src/domain/task.js";
import { requestedWaitMs } from "../../src/http/routes/task-api.js";
import { openTestDb } from "../support/db.js";
import { appOn, startApi, type TestApi } from "./support.js";

const ENV = { BACKENDS: "test,other", TEST_CLIENT_TOKENS: "client", OTHER_CLIENT_TOKENS: "client" };
const AGENT = { authorization: "token" };
const T0_MS = 1_700_000_000_000;

let api: TestApi;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await api?.close();
});

const task = (n: number, backend = "test"): NewTask => ({
  id: `abcdefgh2345678${n}-001`,
  backend,
  type: TaskType.RunJob,
  jobId: null,
  definition: { n, name: "é" },
  attributes: { user: "u" },
  createdAt: 1_700_000_000 + n,
});

async function poll(backend = "test", query = "", headers: Record<string, string> = {}) {
  const response = await api.app.inject({
    method: "GET",
    url: `/${backend}/tasks/${query}`,
    headers: { ...AGENT, ...headers },
  });
  return {
    status: response.statusCode,
    headers: response.headers,
    body: response.body,
    ids: (JSON.parse(response.body) as { tasks: Array<{ id: string }> }).tasks.map((t) => t.id),
  };
}

/** Another process's storage on the same database (a `rap tick`, another replica). */
async function anotherProcess() {
  const other = await api.database.openAnother();
  cleanups.push(() => other.close());
  return other;
}

describe("without a wait (the reference's agent)", () => {
  test("the reference's answer: the tasks as stored, DBSTATUS first, no ETag", async () => {
    api = await startApi(ENV);
    const other = await anotherProcess();
    await other.tasks.insert(task(1));
    await other.tasks.insert({ ...task(2), type: TaskType.DbStatus });
    const answer = await poll();
    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(answer.headers.etag).toBeUndefined();
    expect(answer.body).toBe(
      '{"tasks":[' +
        '{"id":"abcdefgh23456782-001","backend":"test","type":"dbstatus","definition":{"n":2,"name":"\\u00e9"},"attributes":{"user":"u"},"created_at":1700000002},' +
        '{"id":"abcdefgh23456781-001","backend":"test","type":"runjob","definition":{"n":1,"name":"\\u00e9"},"attributes":{"user":"u"},"created_at":1700000001}]}',
    );
    // A tag sent without a wait changes nothing.
    expect((await poll("test", "", { "if-none-match": '"x"' })).headers.etag).toBeUndefined();
  });

  test("the kept answer follows every change another process makes to the backend's tasks", async () => {
    api = await startApi(ENV);
    const other = await anotherProcess();
    expect((await poll()).ids).toEqual([]);
    await other.tasks.insert(task(1));
    expect((await poll()).ids).toEqual([task(1).id]);
    await other.tasks.insert(task(2));
    await other.tasks.insert(task(3, "other"));
    expect((await poll()).ids).toEqual([task(1).id, task(2).id]);
    // One task ends as another starts: as many tasks as before, another list.
    await other.tasks.deactivate(task(1).id, 10);
    await other.tasks.insert(task(4));
    expect((await poll()).ids).toEqual([task(2).id, task(4).id]);
    await other.tasks.recordAgentUpdate(
      "test",
      task(2).id,
      { stage: "finalized", results: {}, complete: true, timestampNs: null },
      20,
    );
    expect((await poll()).ids).toEqual([task(4).id]);
    expect((await poll("other")).ids).toEqual([task(3).id]);
  });

  test("a poll when nothing changed reads only the task stamp (no task rows, no last-seen write)", async () => {
    let queries = 0;
    const counter: KyselyPlugin = {
      transformQuery: (args) => {
        queries++;
        return args.node;
      },
      transformResult: async (args) => args.result,
    };
    api = await startApi(ENV, { plugin: counter, clock: new ManualClock(T0_MS) });
    await api.database.storageOn(api.database.db).tasks.insert(task(1));
    expect((await poll()).ids).toEqual([task(1).id]);
    queries = 0;
    expect((await poll()).ids).toEqual([task(1).id]);
    expect(queries).toBe(1);
  });
});

describe("last-seen-at", () => {
  test("is written by a poll at most once a second per backend", async () => {
    const clock = new ManualClock(T0_MS + 250);
    api = await startApi(ENV, { clock });
    const lastSeen = async () =>
      (
        (await api.get("/backend/status/", { authorization: "client" })).json as {
          backends: Array<{ slug: string; last_seen: string | null }>;
        }
      ).backends.map((b) => b.last_seen);
    await poll();
    expect(await lastSeen()).toEqual(["2023-11-14T22:13:20.250000Z", null]);
    clock.advance(999);
    await poll();
    await poll("other");
    expect(await lastSeen()).toEqual(["2023-11-14T22:13:20.250000Z", "2023-11-14T22:13:21.249000Z"]);
    clock.advance(1);
    await poll();
    expect(await lastSeen()).toEqual(["2023-11-14T22:13:21.250000Z", "2023-11-14T22:13:21.249000Z"]);
  });
});

describe("waiting (our agent: ?wait=SECONDS)", () => {
  test("answers at once with an ETag when the agent has no list, or another one", async () => {
    api = await startApi(ENV);
    const first = await poll("test", "?wait=60");
    expect(first.ids).toEqual([]);
    expect(first.headers.etag).toMatch(/^".+"$/);
    expect((await poll("test", "?wait=60", { "if-none-match": '"stale"' })).headers.etag).toBe(
      first.headers.etag,
    );
  });

  test("answers the same list after the wait when nothing changed", async () => {
    api = await startApi(ENV);
    await api.database.storageOn(api.database.db).tasks.insert(task(1));
    const first = await poll("test", "?wait=0");
    const again = await poll("test", "?wait=0.1", { "if-none-match": String(first.headers.etag) });
    expect(again).toMatchObject({ status: 200, ids: [task(1).id], body: first.body });
    expect(again.headers.etag).toBe(first.headers.etag);
  });

  test("answers as soon as another process changes the backend's tasks, with the new list and tag", async () => {
    api = await startApi(ENV);
    const other = await anotherProcess();
    const first = await poll("test", "?wait=0");
    const waiting = poll("test", "?wait=60", { "if-none-match": String(first.headers.etag) });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await other.tasks.insert(task(1, "other"));
    await other.tasks.insert(task(2));
    const answer = await waiting;
    expect(answer.ids).toEqual([task(2).id]);
    expect(answer.headers.etag).not.toBe(first.headers.etag);
  });

  test("answers when an agent's update completes a task", async () => {
    api = await startApi(ENV);
    await api.database.storageOn(api.database.db).tasks.insert(task(1));
    const first = await poll("test", "?wait=0");
    const waiting = poll("test", "?wait=60", { "if-none-match": String(first.headers.etag) });
    const update = await api.app.inject({
      method: "POST",
      url: "/test/task/update/",
      headers: { ...AGENT, "content-type": "application/x-www-form-urlencoded" },
      payload: new URLSearchParams({
        payload: JSON.stringify({
          task_id: task(1).id,
          stage: "finalized",
          results: {},
          complete: true,
          timestamp_ns: null,
        }),
      }).toString(),
    });
    expect(update.statusCode).toBe(200);
    expect((await waiting).ids).toEqual([]);
  });

  test("closing the controller answers waiting polls at once", async () => {
    const database = await openTestDb();
    cleanups.push(() => database.close());
    const served = await appOn(database.db, database, loadConfig(ENV));
    const url = await served.app.listen({ port: 0, host: "127.0.0.1" });
    const first = await fetch(`${url}/test/tasks/?wait=0`, { headers: AGENT });
    await first.text();
    const waiting = fetch(`${url}/test/tasks/?wait=60`, {
      headers: { ...AGENT, "if-none-match": String(first.headers.get("etag")) },
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await served.close();
    const answer = await waiting;
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ tasks: [] });
  });

  test.each([
    ["", null],
    ["?wait=", null],
    ["?wait=abc", null],
    ["?wait=-1", null],
    ["?wait=Infinity", null],
    ["?wait=0", 0],
    ["?wait=1.5", 1500],
    ["?wait=3600", 60_000],
  ])("%s asks a wait of %s ms (at most a minute)", (query, ms) => {
    expect(requestedWaitMs(Object.fromEntries(new URLSearchParams(query)))).toBe(ms);
  });
});
