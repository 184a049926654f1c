/**
 * One log line for every request answered with an error (4xx as a warning, 5xx as an error): the method, the path
 * (at most its first 200 characters), the route it matched, the status and our error code (docs/api.md). Never a
 * header or the body: the client token and the request's data stay out of the logs. Successful requests are not
 * logged, which would cost more than answering a status poll.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { echo } from "../domain/echo.js";
import type { ErrorCode } from "./errors.js";

const codes = new WeakMap<FastifyRequest, ErrorCode>();

/** Records the error code of the answer being sent, for the request's log line. */
export function noteErrorCode(request: FastifyRequest, code: ErrorCode): void {
  codes.set(request, code);
}

export function logFailedRequests(app: FastifyInstance): void {
  // A callback hook: no promise for every successful request.
  app.addHook("onResponse", (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const status = reply.statusCode;
    if (status >= 400) {
      const line = {
        method: request.method,
        path: echo(request.url.split("?", 1)[0]!),
        route: request.routeOptions.url ?? null,
        status,
        code: codes.get(request) ?? null,
      };
      if (status >= 500) request.log.error(line, "request failed");
      else request.log.warn(line, "request failed");
    }
    done();
  });
}
