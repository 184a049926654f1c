import type { FastifyInstance } from "fastify";

/**
 * Makes every request body in this scope arrive as raw bytes (a Buffer, or undefined when there is none),
 * whatever its Content-Type: the reference reads bodies as JSON regardless of the header, and an unusual or
 * malformed header must not earn a 415 from Fastify.
 */
export function acceptRawBodies(scope: FastifyInstance): void {
  // A callback hook, not an async one (no promise per request); `delete` only when there is something to delete.
  scope.addHook("onRequest", (request, _reply, done) => {
    if (request.headers["content-type"] !== undefined) delete request.headers["content-type"];
    done();
  });
  scope.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));
}
