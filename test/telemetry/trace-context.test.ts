import { describe, expect, test } from "vitest";
import { newTraceContext } from "../../src/telemetry/trace-context.js";

describe("newTraceContext", () => {
  test("is a sampled W3C traceparent with fresh ids every time, across pool refills", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const { traceparent } = newTraceContext();
      expect(traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      seen.add(traceparent);
    }
    expect(seen.size).toBe(1000);
  });
});
