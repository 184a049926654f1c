/** The request histogram kept without prom-client's per-observation work renders exactly as prom-client's own. */
import { Histogram, Registry } from "prom-client";
import { expect, test } from "vitest";
import { RequestDurations } from "../../src/telemetry/request-durations.js";

test("the same text as a prom-client Histogram given the same observations", async () => {
  const bounds = [0.001, 0.01, 0.1, 1];
  const reference = new Registry();
  const histogram = new Histogram({
    name: "rap_http_request_duration_seconds",
    help: "HTTP requests this process answered, by route pattern, method and status.",
    labelNames: ["route", "method", "status"],
    buckets: bounds,
    registers: [reference],
  });
  const ours = new Registry();
  const durations = new RequestDurations(ours, bounds);
  const observations: Array<[string, string, number, number]> = [
    ["/controller/v1/rap/status/", "POST", 200, 0.0004],
    ["/controller/v1/rap/status/", "POST", 200, 0.001],
    ["/controller/v1/rap/status/", "POST", 200, 0.2],
    ["/controller/v1/rap/status/", "POST", 401, 0.00002],
    ["/:backend/tasks/", "GET", 200, 5],
    ["unmatched", "GET", 404, 0.05],
  ];
  for (const [route, method, status, seconds] of observations) {
    histogram.observe({ route, method, status }, seconds);
    durations.observe(route, method, status, seconds);
  }
  expect(await ours.metrics()).toBe(await reference.metrics());
});
