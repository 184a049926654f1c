/**
 * S164 in the spirit of the reference's schemathesis run: random requests to every RAP API endpoint (random tokens,
 * random bytes, random JSON, and bodies shaped like the schema with random wrong parts) only ever get the status
 * codes the reference allows for that path, always with a JSON body; and every allowed code does occur. Then, over a
 * real socket, malformed request lines, URLs and headers: every error answer is in our `{error, details}` shape.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { insertJobs } from "../../src/db/queries/jobs.js";
import type { CreateJobs } from "../../src/http/app.js";
import { makeJob } from "../support/factories.js";
import { exchange, listenOnLoopback } from "./raw-http.js";
import { API, startApi, type TestApi } from "./support.js";

const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const SEEDED = ["a1b2c3d4e5f6g7h8", "abcdefgh12345678", "abcdefgh23456789"];

/** A stand-in pipeline with every kind of outcome, chosen by the workspace name. */
const createJobs: CreateJobs = async (request) => {
  switch (request.workspace.length % 4) {
    case 0:
      return { kind: "created", count: 1 };
    case 1:
      return { kind: "nothing-to-do", details: "All requested actions were already scheduled to run" };
    case 2:
      throw Object.assign(new Error("Invalid workspace name"), { code: "RAP_CREATE_REQUEST_INVALID" });
    default:
      throw new Error("unexpected");
  }
};

let api: TestApi;
let port: number;
beforeAll(async () => {
  // The reference's schemathesis setup (S165): the token sees `test`; one RAP lives on `test1`.
  api = await startApi({ BACKENDS: "test,test1", TEST_CLIENT_TOKENS: "token" }, { createJobs });
  await insertJobs(api.db, [
    makeJob({ rapId: SEEDED[0], action: "action1", commit: COMMIT }),
    makeJob({ rapId: SEEDED[1], action: "action2", backend: "test1" }),
    makeJob({ rapId: SEEDED[1], action: "action3", backend: "test1" }),
    makeJob({ rapId: SEEDED[2], action: "action1", commit: COMMIT }),
  ]);
  port = await listenOnLoopback(api.app);
});
afterAll(async () => {
  await api.close();
});

// Weighted towards requests that get through, so that every allowed code occurs in a few hundred runs.
const auth = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("token", "token", "Bearer token") },
  { weight: 1, arbitrary: fc.constant<string | undefined>(undefined) },
  { weight: 1, arbitrary: fc.constantFrom("", "bad_token") },
  { weight: 1, arbitrary: fc.string() },
);
const rapId = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...SEEDED) },
  { weight: 2, arbitrary: fc.stringMatching(/^[a-z0-9]{16}$/) },
  { weight: 1, arbitrary: fc.string() },
);
const anything = fc.oneof(fc.jsonValue(), fc.string());
/** Mostly a value of the right kind, sometimes anything at all. */
const maybe = <T>(good: fc.Arbitrary<T>, oneIn = 12) =>
  fc.oneof({ weight: oneIn, arbitrary: good }, { weight: 1, arbitrary: anything });
/** For create, where a request needs 13 good fields to get past validation. */
const rarely = <T>(good: fc.Arbitrary<T>) => maybe(good, 40);
const strings = fc.array(fc.constantFrom("action1", "action1", "action1", "action2", "x"), { maxLength: 3 });

const shaped = {
  "/rap/status/": fc.record({ rap_ids: maybe(fc.array(rapId, { maxLength: 5 })) }, { requiredKeys: [] }),
  "/rap/cancel/": fc.record({ rap_id: maybe(rapId), actions: maybe(strings) }, { requiredKeys: [] }),
  "/rap/create/": fc.record(
    {
      backend: rarely(fc.constantFrom("test", "test", "test", "test1")),
      rap_id: rarely(
        fc.oneof(
          { weight: 1, arbitrary: fc.constantFrom(...SEEDED) },
          { weight: 3, arbitrary: fc.stringMatching(/^[a-z0-9]{16}$/) },
        ),
      ),
      workspace: rarely(fc.constantFrom("workspace", "ws-1", "a$b", "study_two")),
      repo_url: rarely(fc.constantFrom("/repo", "https://github.com/opensafely/x")),
      branch: rarely(fc.constant("main")),
      commit: rarely(fc.constantFrom(COMMIT, COMMIT, COMMIT, "abc")),
      database_name: rarely(fc.constantFrom("default", "default", "default", "full")),
      requested_actions: rarely(
        fc.array(fc.constantFrom("action1", "run_all"), { minLength: 1, maxLength: 2 }),
      ),
      codelists_ok: rarely(fc.boolean()),
      force_run_dependencies: rarely(fc.boolean()),
      created_by: rarely(fc.constant("user")),
      project: rarely(fc.constant("project")),
      orgs: rarely(fc.array(fc.constant("org"))),
      analysis_scope: rarely(
        fc.record(
          {
            dataset_permissions: rarely(fc.array(fc.constantFrom("appointments", "icnarc", "nope"))),
            population_permissions: rarely(fc.array(fc.constantFrom("include_ndoo", "nope"))),
          },
          { requiredKeys: [] },
        ),
      ),
    },
    {
      requiredKeys: [
        "backend",
        "rap_id",
        "workspace",
        "repo_url",
        "branch",
        "commit",
        "database_name",
        "requested_actions",
        "codelists_ok",
        "force_run_dependencies",
        "created_by",
        "project",
        "orgs",
      ],
    },
  ),
};

const body = (path: keyof typeof shaped) =>
  fc.oneof(
    { weight: 12, arbitrary: shaped[path].map((value) => JSON.stringify(value)) },
    { weight: 1, arbitrary: fc.json() },
    { weight: 1, arbitrary: fc.string() },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)) },
  );

const ALLOWED: Record<string, number[]> = {
  "/backend/status/": [200, 401],
  "/rap/cancel/": [200, 400, 401, 404],
  "/rap/create/": [200, 201, 400, 401],
  "/rap/status/": [200, 400, 401],
};

async function send(method: string, path: string, token: string | undefined, payload?: string | Buffer) {
  const headers: Record<string, string> = token === undefined ? {} : { authorization: token };
  const response = await api.app.inject({ method: method as "GET", url: API + path, headers, payload });
  return { status: response.statusCode, body: response.body, type: String(response.headers["content-type"]) };
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

describe("S164: status codes per path are a closed set, every answer is JSON", () => {
  test.each(Object.keys(shaped) as (keyof typeof shaped)[])("POST %s", async (path) => {
    const seen = new Set<number>();
    await fc.assert(
      fc.asyncProperty(auth, body(path), async (token, payload) => {
        const answer = await send("POST", path, token, payload);
        seen.add(answer.status);
        expect(ALLOWED[path]).toContain(answer.status);
        expect(answer.type).toMatch(/^application\/json/);
        expect(isJson(answer.body)).toBe(true);
      }),
      { numRuns: 800 },
    );
    expect([...seen].sort()).toEqual(ALLOWED[path]);
  });

  test("GET /backend/status/", async () => {
    const seen = new Set<number>();
    await fc.assert(
      fc.asyncProperty(auth, async (token) => {
        const answer = await send("GET", "/backend/status/", token);
        seen.add(answer.status);
        expect(ALLOWED["/backend/status/"]).toContain(answer.status);
        expect(isJson(answer.body)).toBe(true);
      }),
      { numRuns: 100 },
    );
    expect([...seen].sort()).toEqual(ALLOWED["/backend/status/"]);
  });

  test("any other method is 405 with an empty body", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...Object.keys(ALLOWED)),
        fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"),
        auth,
        async (path, method, token) => {
          const right = path === "/backend/status/" ? "GET" : "POST";
          const answer = await send(
            method,
            path,
            token,
            method === "GET" || method === "HEAD" ? undefined : "{}",
          );
          if (method === right) expect(ALLOWED[path]).toContain(answer.status);
          else expect([answer.status, answer.body]).toEqual([405, ""]);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("malformed requests over a socket: every error answer is in our shape", () => {
  const method = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom("GET", "POST", "HEAD", "DELETE") },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z]{1,8}$/) },
    { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
  );
  const pathPart = fc.oneof(
    fc.constantFrom(
      "/",
      "rap",
      "status",
      "create",
      "backend",
      "..",
      "%",
      "%zz",
      "%4",
      "%41",
      "%e9",
      "%C3%A9",
      "%00",
    ),
    fc.constantFrom("?", "?a=%zz", "#", ";", "//", "\u00e9", " ", "\t", "\u0001"),
    fc.string({ maxLength: 3 }),
  );
  const path = fc
    .tuple(fc.constantFrom(API, `${API}/rap/`, "/", ""), fc.array(pathPart, { maxLength: 8 }))
    .map(([start, parts]) => `${start}${parts.join("")}`);
  const headerText = fc.oneof(
    { weight: 3, arbitrary: fc.stringMatching(/^[a-z-]{1,10}$/) },
    { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
    { weight: 1, arbitrary: fc.constantFrom("a\u0001b", "\u007f", "x\ty", "\u00e9", "a\rb", "a\nb", "") },
  );
  const headers = fc.array(fc.tuple(headerText, headerText), { maxLength: 4 });
  const token = fc.constantFrom<string | undefined>(undefined, "token", "bad");

  test("status and body of any answer to a malformed request line, URL or header", async () => {
    const seen = new Set<number>();
    await fc.assert(
      fc.asyncProperty(method, path, headers, token, async (m, p, hs, t) => {
        const lines = [`${m} ${p} HTTP/1.1`, "host: x", "connection: close"];
        if (t !== undefined) lines.push(`authorization: ${t}`);
        for (const [name, value] of hs) lines.push(`${name}: ${value}`);
        const answer = await exchange(port, Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "utf8"));
        seen.add(answer.status);
        expect(answer.status).toBeGreaterThanOrEqual(200);
        expect(answer.status).toBeLessThan(500);
        if (answer.status === 405 || m === "HEAD") return;
        if (answer.status >= 300) {
          expect(answer.headers["content-type"]).toMatch(/^application\/json/);
          expect(Object.keys(answer.json as object)).toEqual(["error", "details"]);
          expect(typeof (answer.json as { details: unknown }).details).toBe("string");
        }
      }),
      { numRuns: 400 },
    );
    // Both the parser's refusals and the router's answers occurred.
    expect(seen).toContain(400);
    expect(seen).toContain(404);
  });
});
