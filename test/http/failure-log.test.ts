/**
 * Every failed request gets one log line (src/http/failure-log.ts): method, path, route, status and error code,
 * and never the token or the body. Successful requests get none.
 */
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, expect, test } from "vitest";
import { exchange, listenOnLoopback } from "./raw-http.js";
import { API, createBody, startApi, type TestApi } from "./support.js";

let api: TestApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

/** A pino logger writing into `lines`, one parsed object per line. */
function capture(lines: Record<string, unknown>[]) {
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return pino({ level: "info" }, stream);
}

const failures = (lines: Record<string, unknown>[]) =>
  lines
    .filter((line) => line.msg === "request failed")
    .map(({ method, path, route, status, code, level }) => ({ method, path, route, status, code, level }));

test("each failed request is logged once, without its token or body; successful ones are not", async () => {
  const lines: Record<string, unknown>[] = [];
  api = await startApi(
    { BACKENDS: "test", TEST_CLIENT_TOKENS: "s3cret-token" },
    { log: capture(lines), statusWorkers: 0 },
  );
  const token = { authorization: "s3cret-token" };
  expect((await api.get("/backend/status/", token)).status).toBe(200);
  expect((await api.get("/backend/status/", { authorization: "wr0ng-s3cret" })).status).toBe(401);
  const body = createBody({ backend: "elsewhere", repo_url: "/private/body-value" });
  expect((await api.post("/rap/create/", body, token)).status).toBe(400);
  expect((await api.post("/rap/cancel/", { rap_id: "abcdefgh23456789", actions: ["a"] }, token)).status).toBe(
    404,
  );
  expect((await api.get("/rap/create/", token)).status).toBe(405);
  expect((await api.get("/nowhere?x=1", token)).status).toBe(404);

  const WARN = 40;
  expect(failures(lines)).toEqual([
    {
      method: "GET",
      path: `${API}/backend/status/`,
      route: `${API}/backend/status/`,
      status: 401,
      code: "AUTH_INVALID_TOKEN",
      level: WARN,
    },
    {
      method: "POST",
      path: `${API}/rap/create/`,
      route: `${API}/rap/create/`,
      status: 400,
      code: "CREATE_BACKEND_NOT_ALLOWED",
      level: WARN,
    },
    {
      method: "POST",
      path: `${API}/rap/cancel/`,
      route: `${API}/rap/cancel/`,
      status: 404,
      code: "CANCEL_RAP_NOT_FOUND",
      level: WARN,
    },
    {
      method: "GET",
      path: `${API}/rap/create/`,
      route: `${API}/rap/create/`,
      status: 405,
      code: null,
      level: WARN,
    },
    { method: "GET", path: `${API}/nowhere`, route: null, status: 404, code: "NOT_FOUND", level: WARN },
  ]);
  const logged = JSON.stringify(lines);
  expect(logged).not.toContain("s3cret");
  expect(logged).not.toContain("body-value");
});

test("a 5xx answer is logged as an error", async () => {
  const lines: Record<string, unknown>[] = [];
  api = await startApi(undefined, { log: capture(lines), statusWorkers: 0 });
  // The database gone under the server: a fault of ours, answered 500.
  await api.db.destroy();
  expect((await api.get("/backend/status/")).status).toBe(500);
  expect(failures(lines)).toEqual([
    {
      method: "GET",
      path: `${API}/backend/status/`,
      route: `${API}/backend/status/`,
      status: 500,
      code: "INTERNAL",
      level: 50,
    },
  ]);
});

test("a request refused before Fastify parsed it is logged with its status and code, never its headers", async () => {
  const lines: Record<string, unknown>[] = [];
  api = await startApi(undefined, { log: capture(lines), statusWorkers: 0 });
  const port = await listenOnLoopback(api.app);
  const answer = await exchange(
    port,
    "GET / HTTP/1.1\r\nhost: localhost\r\nauthorization: s3cret\u0001token\r\nconnection: close\r\n\r\n",
  );
  expect(answer.status).toBe(400);
  expect(lines.filter((line) => line.msg === "request failed")).toEqual([
    expect.objectContaining({ level: 40, status: 400, code: "BAD_REQUEST", reason: expect.any(String) }),
  ]);
  expect(JSON.stringify(lines)).not.toContain("s3cret");
});
