/**
 * Hostile and oversized requests over real sockets (issue 9 of the hardening work): each test performs the attack
 * over HTTP against a listening app and checks the answer is ours (status, `{error, details}`, a message naming the
 * problem), and, where the attack is about stalling, that another client is served meanwhile.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { insertJobs } from "../../src/db/queries/jobs.js";
import { makeJob } from "../support/factories.js";
import { exchange, listenOnLoopback, open, parseAnswer, request } from "./raw-http.js";
import { API, startApi, type TestApi } from "./support.js";

const ENV = {
  BACKENDS: "test,tpp",
  TEST_CLIENT_TOKENS: "test_token",
  TPP_CLIENT_TOKENS: "tpp_token",
  REQUEST_TIMEOUT: "1",
  KEEP_ALIVE_TIMEOUT: "1",
  MAX_STATUS_RAP_IDS: "100",
};
const AUTH = { authorization: "test_token" };
const HEALTH = request("GET", "/");

/** A create that takes longer than REQUEST_TIMEOUT to answer. */
const SLOW_CREATE_MS = 1500;

let api: TestApi;
let port: number;
beforeAll(async () => {
  api = await startApi(ENV, {
    createJobs: async () => {
      await new Promise((resolve) => setTimeout(resolve, SLOW_CREATE_MS));
      return { kind: "created", count: 1 };
    },
  });
  port = await listenOnLoopback(api.app);
});
afterAll(async () => {
  await api.close();
});

/** Our error shape: exactly `error` and `details`, both strings, as JSON. */
function expectOurError(answer: Awaited<ReturnType<typeof exchange>>, status: number, body: object): void {
  expect(answer.status).toBe(status);
  expect(answer.headers["content-type"]).toMatch(/^application\/json/);
  expect(answer.json).toEqual(body);
}

describe("1. stalled bodies", () => {
  test("a body that stops arriving is answered 408 and closed; other clients are served meanwhile", async () => {
    const stalled = await open(port);
    stalled.socket.write(
      `POST ${API}/rap/status/ HTTP/1.1\r\nhost: x\r\nauthorization: test_token\r\ncontent-length: 100\r\n\r\n{"rap`,
    );
    const other = await exchange(port, HEALTH);
    expect(other.status).toBe(200);
    expect(stalled.isClosed()).toBe(false);

    const answer = parseAnswer(await stalled.closed);
    expectOurError(answer, 408, {
      error: "Request timeout",
      details: "The request did not arrive in full within 1 second (REQUEST_TIMEOUT)",
    });
    expect(answer.headers.connection).toBe("close");
  });

  test("headers that never finish are cut the same way", async () => {
    const stalled = await open(port);
    stalled.socket.write("GET / HTTP/1.1\r\nhost: x\r\n");
    expectOurError(parseAnswer(await stalled.closed), 408, {
      error: "Request timeout",
      details: "The request did not arrive in full within 1 second (REQUEST_TIMEOUT)",
    });
  });

  test("an answer that takes longer than REQUEST_TIMEOUT is not cut: the limit is on receiving", async () => {
    const body = JSON.stringify({
      backend: "test",
      rap_id: "slowslowslowslow",
      workspace: "w",
      repo_url: "/repo",
      branch: "main",
      commit: "0".repeat(40),
      database_name: "default",
      requested_actions: ["a"],
      codelists_ok: true,
      force_run_dependencies: false,
      created_by: "u",
      project: "p",
      orgs: [],
    });
    const answer = await exchange(port, request("POST", `${API}/rap/create/`, AUTH, body));
    expect(answer.status).toBe(201);
  });

  test("an idle keep-alive connection is closed after KEEP_ALIVE_TIMEOUT", async () => {
    const connection = await open(port);
    connection.socket.write("GET / HTTP/1.1\r\nhost: x\r\n\r\n");
    // The server keeps the connection after answering, then closes it once idle; waiting for that is the test.
    const everything = await connection.closed;
    expect(parseAnswer(everything).status).toBe(200);
  });
});

describe("4. errors refused before any route are in our shape", () => {
  test.each([
    [
      "headers over 16 KiB",
      `GET / HTTP/1.1\r\nhost: x\r\nx-big: ${"a".repeat(20_000)}\r\n\r\n`,
      431,
      {
        error: "Request header fields too large",
        details: "The request headers are larger than the server accepts (16 KiB)",
      },
    ],
    [
      "a control character in a header",
      "GET / HTTP/1.1\r\nhost: x\r\nx-bad: a\u0001b\r\n\r\n",
      400,
      { error: "Bad request", details: "The request is not valid HTTP: Invalid header value char" },
    ],
    [
      "an unknown method",
      "FOO / HTTP/1.1\r\nhost: x\r\n\r\n",
      400,
      { error: "Bad request", details: "The request is not valid HTTP: Invalid method encountered" },
    ],
    [
      "bad percent-encoding",
      request("GET", `${API}/rap/%zz/`),
      400,
      { error: "Bad request", details: "'/controller/v1/rap/%zz/' is not a valid url component" },
    ],
    [
      "a body over MAX_BODY_BYTES",
      `POST ${API}/rap/status/ HTTP/1.1\r\nhost: x\r\nauthorization: test_token\r\ncontent-length: ${1024 * 1024 + 1}\r\n\r\n`,
      413,
      {
        error: "Payload too large",
        details: "The request body is larger than the server accepts (1048576 bytes, MAX_BODY_BYTES)",
      },
    ],
  ])("%s", async (_, raw, status, body) => {
    expectOurError(await exchange(port, raw), status, body);
  });

  test("a bad URL echoes at most 200 characters of it", async () => {
    const answer = await exchange(port, request("GET", `${API}/rap/%zz/${"x".repeat(5000)}`));
    const details = (answer.json as { details: string }).details;
    expect(details).toBe(`'${`${API}/rap/%zz/${"x".repeat(5000)}`.slice(0, 199)}…`);
  });
});

describe("5. large valid inputs are bounded", () => {
  const status = (body: string) => exchange(port, request("POST", `${API}/rap/status/`, AUTH, body));
  const ids = (count: number) => Array.from({ length: count }, (_, i) => `cap${String(i).padStart(13, "0")}`);

  test("rap_ids up to MAX_STATUS_RAP_IDS are answered; one more is refused naming the limit", async () => {
    const atCap = await status(JSON.stringify({ rap_ids: ids(100) }));
    expect(atCap.status).toBe(200);
    expect((atCap.json as { unrecognised_rap_ids: string[] }).unrecognised_rap_ids).toHaveLength(100);
    expectOurError(await status(JSON.stringify({ rap_ids: ids(101) })), 400, {
      error: "Validation error",
      details:
        "Invalid request body received at $.rap_ids: 101 rap_ids, more than the 100 this server answers in one request (MAX_STATUS_RAP_IDS)",
    });
  });

  test("an integer of more than 4,300 digits is not JSON we read, as in Python", async () => {
    const bad = { error: "Validation error", details: "could not parse JSON from request body" };
    expectOurError(await status(`{"rap_ids": ${"7".repeat(4301)}}`), 400, bad);
    expectOurError(await status(`{"rap_ids": -${"7".repeat(4301)}}`), 400, bad);
    expectOurError(await status(`{"rap_ids": ${"7".repeat(4300)}}`), 400, {
      error: "Validation error",
      details: `Invalid request body received at $.rap_ids: ${"7".repeat(200)}… is not of type 'array'`,
    });
  });

  test("a huge string is echoed as the first 200 characters of its repr, then …", async () => {
    const answer = await status(`{"rap_ids": "${"\\u0001".repeat(150_000)}"}`);
    expectOurError(answer, 400, {
      error: "Validation error",
      details: `Invalid request body received at $.rap_ids: '${"\\x01".repeat(49)}\\x0… is not of type 'array'`,
    });
  });

  test("a body over the limit is refused from its headers while another client is served", async () => {
    const big = await open(port);
    big.socket.write(
      `POST ${API}/rap/status/ HTTP/1.1\r\nhost: x\r\nauthorization: test_token\r\ncontent-length: 10000000\r\n\r\n`,
    );
    big.socket.write(`{"rap_ids": [${'"abcdefgh12345678",'.repeat(10_000)}`);
    expect((await exchange(port, HEALTH)).status).toBe(200);
    expect(parseAnswer(await big.closed).status).toBe(413);
  });
});

describe("8. rap/status of a RAP on another backend", () => {
  test("a tpp-only token's RAP stays hidden from the test token", async () => {
    const rapId = "tpponlyrap000001";
    await insertJobs(api.db, [makeJob({ rapId, action: "a", backend: "tpp" })]);
    const body = JSON.stringify({ rap_ids: [rapId] });
    const asTest = await exchange(port, request("POST", `${API}/rap/status/`, AUTH, body));
    expect(asTest.json).toEqual({ jobs: [], unrecognised_rap_ids: [rapId] });
    const asTpp = await exchange(
      port,
      request("POST", `${API}/rap/status/`, { authorization: "tpp_token" }, body),
    );
    expect((asTpp.json as { jobs: { rap_id: string }[] }).jobs.map((job) => job.rap_id)).toEqual([rapId]);
  });
});
