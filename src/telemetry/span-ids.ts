import { randomBytes } from "node:crypto";
import type { IdGenerator } from "@opentelemetry/sdk-trace";

/**
 * Span and trace ids, random unless a caller asks for given ones: a job's root `JOB` span is emitted when the job
 * ends, with the ids its trace_context promised when it was created (reference/controller.md §9), so every status
 * span recorded meanwhile already points at it.
 */
export class JobIdGenerator implements IdGenerator {
  private forced: { traceId: string; spanId: string } | undefined;

  generateTraceId(): string {
    return this.forced?.traceId ?? randomBytes(16).toString("hex");
  }

  generateSpanId(): string {
    return this.forced?.spanId ?? randomBytes(8).toString("hex");
  }

  /** Runs `start` (which starts exactly one root span) with these ids. */
  withIds<T>(traceId: string, spanId: string, start: () => T): T {
    this.forced = { traceId, spanId };
    try {
      return start();
    } finally {
      this.forced = undefined;
    }
  }
}
