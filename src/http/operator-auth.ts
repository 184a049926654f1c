/**
 * The one gate in front of every operator endpoint (`/metrics`, the dashboard, live log streams; DESIGN DECISIONS
 * 18). With no OPERATOR_TOKENS the routes are not registered at all, so they answer the app's ordinary 404; with
 * them, every route in the scope answers 401 as the RAP API does (`No token provided` / `Invalid token`) unless the
 * request carries an operator token, raw or as `Bearer <token>`. Client and agent tokens are never operator tokens
 * (src/config checks that), so no other token opens these routes.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { OperatorTokens } from "./auth.js";

/** Registers operator-only routes in their own scope: `routes` adds them; nothing is registered without tokens. */
export async function registerOperatorRoutes(
  app: FastifyInstance,
  operatorTokens: readonly string[],
  routes: (scope: FastifyInstance) => Promise<void> | void,
  options: { prefix?: string } = {},
): Promise<void> {
  if (operatorTokens.length === 0) return;
  const tokens = new OperatorTokens(operatorTokens);
  await app.register(async (scope) => {
    // Checked in onRequest, before any body is read; the app's error handler renders the 401.
    scope.addHook(
      "onRequest",
      (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void) => {
        try {
          tokens.check(request.headers.authorization);
        } catch (error) {
          return done(error as Error);
        }
        done();
      },
    );
    await routes(scope);
  }, options);
}
