/**
 * A span per RAP API request (S030): the attributes of the reference's HTTP instrumentation, exactly, and nothing
 * from the request's headers. Spans are collected in memory; the exporters are tested through the CLI
 * (test/http/cli-controller.test.ts).
 */
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { afterEach, beforeEach, expect, test } from "vitest";
import { startApi, type TestApi } from "../http/support.js";

let exporter: InMemorySpanExporter;
let api: TestApi;
beforeEach(async () => {
  exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  api = await startApi(undefined, { tracer: provider.getTracer("http") });
});
afterEach(async () => api.close());

test("S030: backend/status/ has a server span with method, route and status code", async () => {
  expect((await api.get("/backend/status/")).status).toBe(200);
  const spans = exporter.getFinishedSpans();
  expect(spans).toHaveLength(1);
  const [span] = spans;
  expect(span!.name).toBe("GET controller/v1/backend/status/");
  expect(span!.kind).toBe(SpanKind.SERVER);
  expect(span!.attributes).toEqual({
    "http.request.method": "GET",
    "http.route": "controller/v1/backend/status/",
    "http.response.status_code": 200,
  });
  expect(span!.status.code).toBe(SpanStatusCode.UNSET);
});

test("refused requests are traced with their status, and the token is never recorded", async () => {
  await api.post("/rap/status/", { rap_ids: [] }, { authorization: "not-a-token" });
  await api.post("/rap/status/", "{", { authorization: "test_token" });
  const spans = exporter.getFinishedSpans();
  expect(spans.map((span) => [span.name, span.attributes["http.response.status_code"]])).toEqual([
    ["POST controller/v1/rap/status/", 401],
    ["POST controller/v1/rap/status/", 400],
  ]);
  expect(JSON.stringify(spans.map((span) => span.attributes))).not.toMatch(/not-a-token|test_token/);
});

test("a path no route matches is traced without a route", async () => {
  await api.get("/no/such/path/");
  const [span] = exporter.getFinishedSpans();
  expect(span!.name).toBe("GET");
  expect(span!.attributes).toEqual({ "http.request.method": "GET", "http.response.status_code": 404 });
});
