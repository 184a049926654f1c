/** Group A of reference/scenarios.md: authentication, methods and body parsing on every RAP API endpoint. */
import { readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { parse } from "yaml";
import { OPENAPI_PATH } from "../../src/http/openapi.js";
import { API, CFG_A, createBody, H, startApi, type TestApi } from "./support.js";

const POSTS = [
  ["/rap/create/", createBody()],
  ["/rap/cancel/", { rap_id: "abcdefgh12345678", actions: ["action1"] }],
  ["/rap/status/", { rap_ids: [] }],
] as const;

let api: TestApi;
beforeEach(async () => {
  api = await startApi();
});
afterEach(async () => {
  await api.close();
});

describe("authentication", () => {
  test("S001: no Authorization header → 401 No token provided, on every endpoint", async () => {
    const expected = { error: "Unauthorized", details: "No token provided" };
    expect(await api.get("/backend/status/", {})).toMatchObject({ status: 401, json: expected });
    for (const [path, body] of POSTS)
      expect(await api.post(path, body, {})).toMatchObject({ status: 401, json: expected });
  });

  test("S002: an unknown token → 401 Invalid token, on every endpoint", async () => {
    const expected = { error: "Unauthorized", details: "Invalid token" };
    const bad = { authorization: "bad_token" };
    expect(await api.get("/backend/status/", bad)).toMatchObject({ status: 401, json: expected });
    for (const [path, body] of POSTS)
      expect(await api.post(path, body, bad)).toMatchObject({ status: 401, json: expected });
  });

  test("S003 differs (DESIGN DECISIONS 1): `Bearer <token>` is accepted as well as the raw token", async () => {
    expect((await api.get("/backend/status/", { authorization: "Bearer test_token" })).status).toBe(200);
    expect((await api.get("/backend/status/", { authorization: "bearer test_token" })).status).toBe(200);
    expect(await api.get("/backend/status/", { authorization: "Bearer bad_token" })).toMatchObject({
      status: 401,
      json: { error: "Unauthorized", details: "Invalid token" },
    });
  });

  test("S004: an empty Authorization value → 401 No token provided", async () => {
    expect(await api.get("/backend/status/", { authorization: "" })).toMatchObject({
      status: 401,
      json: { error: "Unauthorized", details: "No token provided" },
    });
  });

  test("S005: the token is checked before the body", async () => {
    expect(await api.post("/rap/status/", {}, { authorization: "bad_token" })).toMatchObject({
      status: 401,
      json: { details: "Invalid token" },
    });
    expect(await api.post("/rap/status/", "not json", {})).toMatchObject({
      status: 401,
      json: { details: "No token provided" },
    });
  });
});

describe("methods", () => {
  test("S006: a wrong method → 405 with an empty body and an Allow header, before the token is checked", async () => {
    for (const path of ["/rap/create/", "/rap/cancel/", "/rap/status/"]) {
      for (const method of ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"] as const) {
        const response = await api.app.inject({ method, url: API + path });
        expect([method, path, response.statusCode, response.body, response.headers.allow]).toEqual([
          method,
          path,
          405,
          "",
          "POST",
        ]);
      }
    }
    for (const method of ["POST", "HEAD", "PUT"] as const) {
      const response = await api.app.inject({ method, url: `${API}/backend/status/`, payload: "{}" });
      expect([method, response.statusCode, response.body, response.headers.allow]).toEqual([
        method,
        405,
        "",
        "GET",
      ]);
    }
  });
});

describe("tokens and backends", () => {
  test("S007: a token sees exactly its backends", async () => {
    const other = await startApi({ BACKENDS: "test,foo", TEST_CLIENT_TOKENS: "test_token" });
    try {
      const answer = await other.get("/backend/status/");
      expect((answer.json as { backends: { slug: string }[] }).backends.map((b) => b.slug)).toEqual(["test"]);
    } finally {
      await other.close();
    }
  });

  test("S008: a token listed under several backends sees them in BACKENDS order", async () => {
    const other = await startApi({
      BACKENDS: "test,foo",
      TEST_CLIENT_TOKENS: "test_token",
      FOO_CLIENT_TOKENS: "test_token,other",
    });
    try {
      const slugs = async (token: string) =>
        (
          (await other.get("/backend/status/", { authorization: token })).json as {
            backends: { slug: string }[];
          }
        ).backends.map((b) => b.slug);
      expect(await slugs("test_token")).toEqual(["test", "foo"]);
      expect(await slugs("other")).toEqual(["foo"]);
    } finally {
      await other.close();
    }
  });
});

describe("bodies", () => {
  const unparseable = { error: "Validation error", details: "could not parse JSON from request body" };

  test("S009: a body that is not JSON → 400, on every POST endpoint", async () => {
    for (const [path] of POSTS) {
      expect(await api.post(path, "foo", { ...H, "content-type": "application/json" })).toMatchObject({
        status: 400,
        json: unparseable,
      });
    }
  });

  test("S010: a body that is not UTF-8 → 400", async () => {
    for (const [path] of POSTS) {
      expect(await api.post(path, Buffer.from([0xed]), { ...H, "content-type": "text/html" })).toMatchObject({
        status: 400,
        json: unparseable,
      });
    }
  });

  test("S011: an empty body → 400", async () => {
    for (const [path] of POSTS)
      expect(await api.post(path, "", H)).toMatchObject({ status: 400, json: unparseable });
  });

  test("S012: the Content-Type is ignored, even when missing, unusual or malformed", async () => {
    const expected = { status: 200, json: { jobs: [], unrecognised_rap_ids: [] } };
    for (const contentType of [undefined, "text/plain", "application/x-www-form-urlencoded", "", "??"]) {
      const headers: Record<string, string> =
        contentType === undefined ? { ...H } : { ...H, "content-type": contentType };
      expect(await api.post("/rap/status/", '{"rap_ids": []}', headers)).toMatchObject(expected);
    }
  });

  test.each([
    ["[]", "Invalid request body received: [] is not of type 'object'"],
    ["null", "Invalid request body received: None is not of type 'object'"],
    ['"foo"', "Invalid request body received: 'foo' is not of type 'object'"],
    ["123", "Invalid request body received: 123 is not of type 'object'"],
  ])("S013: JSON that is not an object (%s) → 400, on every POST endpoint", async (body, details) => {
    for (const [path] of POSTS) {
      expect(await api.post(path, body)).toMatchObject({
        status: 400,
        json: { error: "Validation error", details },
      });
    }
  });
});

describe("documentation and other paths", () => {
  test("S015: spec.json is our OpenAPI document, with no token needed", async () => {
    const answer = await api.get("/spec.json", {});
    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toMatch(/^application\/json/);
    expect(answer.json).toEqual(parse(readFileSync(OPENAPI_PATH, "utf8")));
  });

  test("S015: docs/ is an HTML page whose assets are served locally (it works offline), with no token needed", async () => {
    const page = await api.get("/docs/", {});
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    const scripts = [...page.body.matchAll(/src="\.\/([^"]+)"/g)].map((m) => m[1]!);
    expect(scripts).toContain("static/swagger-ui-bundle.js");
    for (const script of scripts) expect((await api.get(`/docs/${script}`, {})).status).toBe(200);
    expect((await api.get("/docs/json", {})).json).toEqual((await api.get("/spec.json", {})).json);
  });

  test("S015b: a path without its trailing slash redirects (301) to it, with a JSON body", async () => {
    const response = await api.app.inject({ method: "POST", url: `${API}/rap/status?x=1`, payload: "{}" });
    expect(response.statusCode).toBe(301);
    expect(response.headers.location).toBe(`${API}/rap/status/?x=1`);
    expect(response.json()).toEqual({ error: "Moved permanently", details: `Use ${API}/rap/status/` });
    expect((await api.app.inject({ method: "GET", url: `${API}/backend/status` })).headers.location).toBe(
      `${API}/backend/status/`,
    );
  });

  test("an unknown path → a JSON 404 (the reference's is an HTML page)", async () => {
    for (const url of [`${API}/rap/nope/`, "/nope", `${API}/`]) {
      const response = await api.app.inject({ method: "GET", url });
      expect(response.statusCode).toBe(404);
      expect(response.json()).toEqual({ error: "Not found", details: `No endpoint GET ${url}` });
    }
  });

  test("S150: the health check at / answers GET and POST with the method, with no token needed", async () => {
    expect((await api.app.inject({ method: "GET", url: "/" })).json()).toEqual({ method: "GET" });
    const post = await api.app.inject({
      method: "POST",
      url: "/",
      payload: "anything",
      headers: { "content-type": "??" },
    });
    expect([post.statusCode, post.json()]).toEqual([200, { method: "POST" }]);
  });
});

describe("failures", () => {
  test("an unexpected failure answers a JSON 500 on read endpoints and 400 Unknown error on create, never HTML", async () => {
    const broken = await startApi(CFG_A);
    await broken.db.destroy();
    expect(await broken.get("/backend/status/")).toMatchObject({
      status: 500,
      json: { error: "Internal error" },
    });
    expect(await broken.post("/rap/status/", { rap_ids: ["abcdefgh12345678"] })).toMatchObject({
      status: 500,
    });
    expect(await broken.post("/rap/create/", createBody())).toMatchObject({
      status: 400,
      json: { error: "Error creating jobs", details: "Unknown error" },
    });
    await broken.app.close();
  });

  test("a body over the limit → a JSON 413", async () => {
    const huge = `{"rap_ids": [${'"abcdefgh12345678",'.repeat(1_000_000)}]}`;
    expect(await api.post("/rap/status/", huge)).toMatchObject({
      status: 413,
      json: { error: "Payload too large" },
    });
  });

  test("non-ASCII text is escaped in answers, as Python's json.dumps does", async () => {
    const answer = await api.post("/rap/cancel/", { rap_id: "é", actions: ["a"] });
    expect(answer.body).toContain("'\\u00e9' does not match");
    expect(answer.body).not.toMatch(/[^\x20-\x7e]/);
  });
});
