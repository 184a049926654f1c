/**
 * The scheduler's loop spans (reference/controller.md §9): `LOOP` around each pass's jobs with a `LOOP_JOB` child
 * per job, and `TICK` spans with a child per active job, checked with an in-memory exporter.
 */
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import pino from "pino";
import { afterEach, expect, test } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import { deterministicJobId } from "../../src/domain/ids.js";
import { type ImageDigests, Scheduler } from "../../src/scheduler/scheduler.js";
import { LoopSpans } from "../../src/telemetry/loop-spans.js";
import { FX_ACT } from "../jobs/fixtures.js";
import { createRap, studyRepo } from "../scheduler/support.js";
import { SYSTEM_ENV, type System, startSystem, T0_MS } from "../support/system.js";
import { finishedResults } from "../support/test-agent.js";

let system: System;
afterEach(async () => system?.close());

const NO_DIGESTS: ImageDigests = { resolve: async () => null };

function tracedScheduler(digests: ImageDigests = NO_DIGESTS) {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const config = loadConfig({ ...SYSTEM_ENV, WORKDIR: system.workdir, TICK_POLL_INTERVAL: "2" });
  const scheduler = new Scheduler({
    storage: system.controller.storage,
    config,
    clock: system.clock,
    digests,
    log: pino({ level: "silent" }),
    loopSpans: new LoopSpans(provider.getTracer("loop"), provider.getTracer("ticks"), 2000),
  });
  const take = () => {
    const spans = exporter.getFinishedSpans();
    exporter.reset();
    return spans;
  };
  return { scheduler, take };
}

test("LOOP and LOOP_JOB per pass, TICK at most every TICK_POLL_INTERVAL with a child per active job", async () => {
  system = await startSystem();
  const { scheduler, take } = tracedScheduler();
  const rap = await createRap(system, await studyRepo(FX_ACT), ["action1"]);
  const jobId = deterministicJobId(rap, "action1");

  await scheduler.tick();
  const first = take();
  // The first pass only starts the tick clock.
  expect(first.map((s) => s.name)).toEqual(["LOOP_JOB", "LOOP"]);
  const [loopJob, loop] = first;
  expect(loop!.attributes).toEqual({ loop: true });
  expect(loopJob!.parentSpanContext?.spanId).toBe(loop!.spanContext().spanId);
  expect(loopJob!.attributes).toMatchObject({
    "job.id": jobId,
    "job.action": "action1",
    "job.workspace": "workspace",
    "job.backend": "test",
    "job.initial_state": "PENDING",
    "job.initial_code": "CREATED",
    "job.final_state": "RUNNING",
    "job.final_code": "INITIATED",
  });
  expect(loopJob!.attributes).not.toHaveProperty("job.fatal_error");

  // Within TICK_POLL_INTERVAL of the first: no TICK yet.
  system.clock.advance(1_000);
  await scheduler.tick();
  expect(take().map((s) => s.name)).toEqual(["LOOP_JOB", "LOOP"]);

  const taskId = `${jobId}-001`;
  await system.agent().update(taskId, "executing", { timestampNs: T0_MS * 1e6 + 2e9 });
  system.clock.advance(2_000);
  await scheduler.tick();
  const ticked = take();
  expect(ticked.map((s) => s.name)).toEqual(["LOOP_JOB", "LOOP", "EXECUTING", "TICK"]);
  const [, , child, tick] = ticked;
  expect(child!.parentSpanContext?.spanId).toBe(tick!.spanContext().spanId);
  expect(child!.attributes).toMatchObject({ "job.id": jobId });
  // From the first pass to now, the same times for the TICK and its children.
  expect(tick!.startTime).toEqual([T0_MS / 1000, 0]);
  expect(tick!.endTime).toEqual([T0_MS / 1000 + 3, 0]);
  expect(child!.startTime).toEqual(tick!.startTime);
  expect(child!.endTime).toEqual(tick!.endTime);

  // A finished job is no longer in a TICK.
  await system.agent().finish(taskId, finishedResults({ exit_code: "0" }), T0_MS * 1e6 + 4e9);
  system.clock.advance(2_000);
  await scheduler.tick();
  const last = take();
  expect(last.map((s) => s.name)).toEqual(["LOOP_JOB", "LOOP", "TICK"]);
  expect(last[0]!.attributes).toMatchObject({
    "job.final_state": "SUCCEEDED",
    "job.final_code": "SUCCEEDED",
  });
});

test("a job whose handling throws: its LOOP_JOB says job.fatal_error, with the error recorded", async () => {
  system = await startSystem();
  const { scheduler, take } = tracedScheduler({
    resolve: async () => {
      throw new Error("the registry client broke");
    },
  });
  await createRap(system, await studyRepo(FX_ACT), ["action1"]);
  await scheduler.tick();
  const [loopJob, loop] = take();
  expect(loop!.name).toBe("LOOP");
  expect(loopJob!.attributes).toMatchObject({
    "job.initial_code": "CREATED",
    "job.final_code": "CREATED",
    "job.fatal_error": true,
  });
  expect(loopJob!.status.code).toBe(2);
  expect(loopJob!.events.map((e) => e.attributes?.["exception.message"])).toEqual([
    "the registry client broke",
  ]);
});

test("a pass that fails after reading its jobs still ends its LOOP span", async () => {
  system = await startSystem();
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const { storage } = system.controller;
  // The database stops answering after the pass read its jobs (a locked or unreachable database).
  const broken = Object.create(storage, {
    failures: {
      value: {
        ...storage.failures,
        all: async () => {
          throw new Error("the database went away");
        },
      },
    },
  });
  const scheduler = new Scheduler({
    storage: broken,
    config: loadConfig({ ...SYSTEM_ENV, WORKDIR: system.workdir }),
    clock: system.clock,
    digests: NO_DIGESTS,
    log: pino({ level: "silent" }),
    loopSpans: new LoopSpans(provider.getTracer("loop"), provider.getTracer("ticks"), 2000),
  });
  await expect(scheduler.tick()).rejects.toThrow("the database went away");
  expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(["LOOP"]);
});
