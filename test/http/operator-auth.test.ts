import Fastify, { type FastifyInstance } from "fastify";
import { afterEach, describe, expect, test } from "vitest";
import { apiErrorFor } from "../../src/http/errors.js";
import { registerOperatorRoutes } from "../../src/http/operator-auth.js";

/** A bare app answering errors as src/http/app.ts does, with one operator route `/op/ping` behind the gate. */
async function appWith(tokens: readonly string[]): Promise<FastifyInstance> {
  const app = Fastify();
  app.setErrorHandler((error, _request, reply) => {
    const answer = apiErrorFor(error);
    return reply.code(answer.status).send(answer.body());
  });
  await registerOperatorRoutes(
    app,
    tokens,
    (scope) => {
      scope.get("/ping", async () => ({ pong: true }));
    },
    { prefix: "/op" },
  );
  // An ordinary route beside them, which the gate must not cover.
  app.get("/open", async () => ({ open: true }));
  await app.ready();
  return app;
}

describe("registerOperatorRoutes", () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  test("an operator token, raw or as a Bearer token, reaches the route", async () => {
    app = await appWith(["op-1", "op-2"]);
    for (const authorization of ["op-1", "Bearer op-2"]) {
      const answer = await app.inject({ method: "GET", url: "/op/ping", headers: { authorization } });
      expect(answer.statusCode).toBe(200);
      expect(answer.json()).toEqual({ pong: true });
    }
  });

  test("without a token or with a wrong one: 401 with the RAP API's bodies", async () => {
    app = await appWith(["op-1"]);
    const none = await app.inject({ method: "GET", url: "/op/ping" });
    expect(none.statusCode).toBe(401);
    expect(none.json()).toEqual({ error: "Unauthorized", details: "No token provided" });
    const wrong = await app.inject({
      method: "GET",
      url: "/op/ping",
      headers: { authorization: "Bearer op-" },
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toEqual({ error: "Unauthorized", details: "Invalid token" });
  });

  test("routes outside the operator scope are not gated", async () => {
    app = await appWith(["op-1"]);
    expect((await app.inject({ method: "GET", url: "/open" })).statusCode).toBe(200);
  });

  test("with no operator tokens the routes do not exist (404, whatever the header)", async () => {
    app = await appWith([]);
    expect(
      (await app.inject({ method: "GET", url: "/op/ping", headers: { authorization: "op-1" } })).statusCode,
    ).toBe(404);
  });
});
