/**
 * Job spans (reference/controller.md §9): a span per status a job leaves, and at the end the final status's span and
 * the job's root span, with the ids its trace_context promised at creation.
 */
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import pino from "pino";
import { afterEach, expect, test } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import { deterministicJobId } from "../../src/domain/ids.js";
import { createImageDigests } from "../../src/registry/index.js";
import { Scheduler } from "../../src/scheduler/scheduler.js";
import { jobSpans } from "../../src/telemetry/job-spans.js";
import { JobIdGenerator } from "../../src/telemetry/span-ids.js";
import { FX_ACT } from "../jobs/fixtures.js";
import { createRap, studyRepo } from "../scheduler/support.js";
import { SYSTEM_ENV, type System, startSystem, T0_MS } from "../support/system.js";
import { finishedResults } from "../support/test-agent.js";

let system: System;
afterEach(async () => system?.close());

test("a job's life as spans: one per status left, the final one, then the root JOB span with the promised ids", async () => {
  system = await startSystem();
  const exporter = new InMemorySpanExporter();
  const ids = new JobIdGenerator();
  const provider = new TracerProvider({
    idGenerator: ids,
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
  const config = loadConfig({ ...SYSTEM_ENV, WORKDIR: system.workdir });
  const scheduler = new Scheduler({
    storage: system.controller.storage,
    config,
    clock: system.clock,
    digests: createImageDigests({
      registry: "ghcr.io/opensafely-core",
      enabled: false,
      timeoutMs: 1,
      ttlMs: 1,
    }),
    log: pino({ level: "silent" }),
    observers: [jobSpans(provider.getTracer("jobs"), ids)],
  });
  const rap = await createRap(system, await studyRepo(FX_ACT), ["action1"]);
  const job = (await system.jobs(rap)).action1;
  const [, traceId, rootId] = /^00-(\w{32})-(\w{16})-01$/.exec(job.trace_context.traceparent)!;

  system.clock.advance(1_000);
  await scheduler.tick();
  const taskId = `${deterministicJobId(rap, "action1")}-001`;
  await system.agent().update(taskId, "executing", { timestampNs: T0_MS * 1e6 + 5e9 });
  await scheduler.tick();
  await system.agent().finish(taskId, finishedResults({ exit_code: "0" }), T0_MS * 1e6 + 9e9);
  await scheduler.tick();

  const spans = exporter.getFinishedSpans();
  expect(spans.map((s) => s.name)).toEqual(["CREATED", "INITIATED", "EXECUTING", "SUCCEEDED", "JOB"]);
  for (const span of spans) expect(span.spanContext().traceId).toBe(traceId);
  const root = spans.at(-1)!;
  expect(root.spanContext().spanId).toBe(rootId);
  expect(root.parentSpanContext).toBeUndefined();
  for (const span of spans.slice(0, -1)) expect(span.parentSpanContext?.spanId).toBe(rootId);
  const [created, initiated, executing, succeeded] = spans;
  // Each status's span runs from when it began to when the job left it.
  expect(created!.startTime).toEqual([T0_MS / 1000, 0]);
  expect(created!.endTime).toEqual([T0_MS / 1000 + 1, 0]);
  expect(initiated!.endTime).toEqual([T0_MS / 1000 + 5, 0]);
  expect(executing!.endTime).toEqual([T0_MS / 1000 + 9, 0]);
  expect(succeeded!.attributes).toMatchObject({
    "job.id": deterministicJobId(rap, "action1"),
    "job.request": rap,
    "job.action": "action1",
    "job.succeeded": true,
    "job.exit_code": "0",
  });
  expect(root.startTime).toEqual([T0_MS / 1000 - 1, 999_999_000]);
  expect(root.endTime).toEqual([T0_MS / 1000 + 9, 0]);
});
