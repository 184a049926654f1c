/**
 * The HTTP side of the controller's metrics (src/telemetry/metrics.ts): every answer timed by its route pattern
 * (never the raw URL, which a client chooses), and `GET /metrics` in Prometheus's text format, an operator endpoint
 * (src/http/operator-auth.ts).
 */
import type { FastifyInstance } from "fastify";
import { type ControllerMetrics, UNMATCHED_ROUTE } from "../telemetry/metrics.js";
import { registerOperatorRoutes } from "./operator-auth.js";

export function measureRequests(app: FastifyInstance, metrics: ControllerMetrics): void {
  // A callback hook: no promise per request.
  app.addHook("onResponse", (request, reply, done) => {
    const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
    metrics.requestAnswered(route, request.method, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
}

export async function metricsEndpoint(
  app: FastifyInstance,
  operatorTokens: readonly string[],
  metrics: ControllerMetrics,
): Promise<void> {
  await registerOperatorRoutes(app, operatorTokens, (scope) => {
    scope.get("/metrics", async (_request, reply) => {
      const { text, contentType } = await metrics.scrape();
      return reply.type(contentType).send(text);
    });
  });
}
