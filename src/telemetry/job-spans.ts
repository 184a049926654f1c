/**
 * Job spans (reference/controller.md §9): each job has a trace whose root `JOB` span was promised at creation
 * (trace_context). Every status change emits a span named after the status being left, from when it began until
 * the change; a final status also emits a one-second span named after it and then the root span itself, covering
 * the job's whole life. Jobs without a trace context are skipped; tracing never fails a job.
 */
import {
  type Attributes,
  context,
  type SpanContext,
  SpanStatusCode,
  TraceFlags,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import type { Job } from "../domain/job.js";
import type { JobObserver } from "../domain/job-observer.js";
import { isFinalCode, StatusCode } from "../domain/status.js";
import type { JobIdGenerator } from "./span-ids.js";

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;

function rootOf(job: Job): SpanContext | undefined {
  const match = TRACEPARENT.exec(job.traceContext?.traceparent ?? "");
  if (!match) return undefined;
  return { traceId: match[1]!, spanId: match[2]!, traceFlags: TraceFlags.SAMPLED, isRemote: true };
}

/** ns → the [seconds, nanoseconds] OpenTelemetry takes (a ns number is beyond what a Date can carry). */
function hrTime(ns: number): [number, number] {
  const seconds = Math.floor(ns / 1e9);
  return [seconds, Math.round(ns - seconds * 1e9)];
}

const RESULT_ATTRIBUTES: Record<string, string> = {
  exit_code: "job.exit_code",
  docker_image_id: "job.image_id",
  status_message: "job.executor_message",
  action_version: "job.action_version",
  action_revision: "job.action_revision",
  action_created: "job.action_created",
  base_revision: "job.base_revision",
  base_created: "job.base_created",
};

/** The reference's job attributes (reference/controller.md §9), with the results' when given. */
export function jobAttributes(job: Job, results?: Record<string, unknown>): Attributes {
  const attributes: Attributes = {
    "rap.backend": job.backend,
    "job.backend": job.backend,
    "job.id": job.id,
    "job.request": job.rapId,
    "job.workspace": job.workspace,
    "job.action": job.action,
    "job.commit": job.commit,
    "job.run_command": job.runCommand,
    "job.user": job.user || "unknown",
    "job.project": job.project || "unknown",
    "job.orgs": job.orgs.join(","),
    "job.state": job.state,
    "job.message": job.statusMessage ?? "",
    "job.created_at": job.createdAt * 1e9,
    "job.status_code_updated_at": job.statusCodeUpdatedAt,
    "job.requires_db": job.requiresDb,
  };
  if (job.startedAt !== null) attributes["job.started_at"] = job.startedAt * 1e9;
  if (job.actionRepoUrl) attributes["job.reusable_action"] = `${job.actionRepoUrl}:${job.actionCommit}`;
  for (const [key, value] of Object.entries(job.analysisScope)) {
    if (Array.isArray(value)) attributes[`job.analysis_scope.${key}`] = value.join(",");
  }
  for (const [key, name] of Object.entries(RESULT_ATTRIBUTES)) {
    const value = results?.[key];
    if (value !== undefined && value !== null) attributes[name] = String(value);
  }
  return attributes;
}

export function jobSpans(tracer: Tracer, ids: JobIdGenerator): JobObserver {
  return {
    statusChanged(job, change, results) {
      const root = rootOf(job);
      if (!root) return;
      const parent = trace.setSpanContext(context.active(), root);
      const attributes = jobAttributes(job, results);
      const at = job.statusCodeUpdatedAt;
      tracer
        .startSpan(
          change.from.toUpperCase(),
          { startTime: hrTime(change.previousSinceNs), attributes },
          parent,
        )
        .end(hrTime(at));
      if (!isFinalCode(job.statusCode)) return;
      const final = tracer.startSpan(
        job.statusCode.toUpperCase(),
        {
          startTime: hrTime(at),
          attributes: { ...attributes, "job.succeeded": job.statusCode === StatusCode.Succeeded },
        },
        parent,
      );
      if (job.statusCode === StatusCode.InternalError) final.setStatus({ code: SpanStatusCode.ERROR });
      final.end(hrTime(at + 1e9));
      const jobSpan = ids.withIds(root.traceId, root.spanId, () =>
        // 1 µs before the job was created, as the reference starts it.
        tracer.startSpan("JOB", { root: true, startTime: [job.createdAt - 1, 999_999_000], attributes }),
      );
      jobSpan.end(hrTime(at));
    },
  };
}
