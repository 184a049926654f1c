import { randomBytes } from "node:crypto";

/**
 * A fresh W3C trace context for a job's root span: `{"traceparent": "00-<trace id>-<span id>-01"}`. Stored on the
 * job at creation so every later span of the job joins the same trace.
 */
export function newTraceContext(): { traceparent: string } {
  return { traceparent: `00-${randomBytes(16).toString("hex")}-${randomBytes(8).toString("hex")}-01` };
}
