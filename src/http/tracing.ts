/**
 * A server span per HTTP request, with the attributes the reference's HTTP instrumentation gives (S030): method,
 * route (as Django writes it, without the leading slash) and response status code. Nothing from the headers or
 * the body is recorded: the Authorization header holds a client token.
 */
import { type Span, SpanKind, SpanStatusCode, type Tracer } from "@opentelemetry/api";
import type { FastifyInstance } from "fastify";

declare module "fastify" {
  interface FastifyRequest {
    /** This request's span, when requests are traced. */
    span: Span | null;
  }
}

export function traceRequests(app: FastifyInstance, tracer: Tracer): void {
  app.decorateRequest("span", null);
  app.addHook("onRequest", (request, _reply, done) => {
    const route = request.routeOptions.url?.replace(/^\//, "");
    const attributes: Record<string, string> = { "http.request.method": request.method };
    if (route !== undefined) attributes["http.route"] = route;
    request.span = tracer.startSpan(route === undefined ? request.method : `${request.method} ${route}`, {
      kind: SpanKind.SERVER,
      attributes,
    });
    done();
  });
  app.addHook("onResponse", (request, reply, done) => {
    const span = request.span;
    if (span?.isRecording()) {
      span.setAttribute("http.response.status_code", reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
    done();
  });
  app.addHook("onRequestAbort", (request, done) => {
    const span = request.span;
    if (span?.isRecording()) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: "the client closed the connection" });
      span.end();
    }
    done();
  });
}
