/**
 * The scheduler's own spans (reference/controller.md §9): tracer `loop` gives a `LOOP` span (`loop=true`) around
 * each pass's handling of the jobs, with a `LOOP_JOB` child per job handled (its attributes, plus its state and code
 * before and after as the reference's enum names, and `job.fatal_error` when handling it threw; a pass handles only
 * the jobs something may have changed for, src/scheduler/affected.ts); tracer `ticks` gives, at most every
 * TICK_POLL_INTERVAL, a `TICK` span from the previous tick to now with a child per active job named after its status
 * code (the reference runs ticks in a thread of their own; here the pass that holds the scheduler lease emits them,
 * from the jobs it knows, so replicas do not repeat them).
 */
import { context, type Span, SpanStatusCode, type Tracer, trace } from "@opentelemetry/api";
import type { Job } from "../domain/job.js";
import { isActiveState } from "../domain/status.js";
import { jobAttributes } from "./job-spans.js";

export interface LoopPassSpans {
  /** Starts a job's LOOP_JOB span; call the answer with the job once handled (and the error, if it threw). */
  job(job: Job): (handled: Job, error?: unknown) => void;
  /** Ends the LOOP span. */
  end(): void;
}

/** Python's enum name of a state or code: `pending` → `PENDING`. */
const enumName = (value: string) => value.toUpperCase();

/** ns → the [seconds, nanoseconds] OpenTelemetry takes. */
function hrTime(ns: number): [number, number] {
  const seconds = Math.floor(ns / 1e9);
  return [seconds, Math.round(ns - seconds * 1e9)];
}

export class LoopSpans {
  /** When the last TICK ended (Unix ns); null until the first call, which only records the time. */
  private lastTickNs: number | null = null;

  constructor(
    private readonly loopTracer: Tracer,
    private readonly tickTracer: Tracer,
    private readonly tickIntervalMs: number,
  ) {}

  pass(): LoopPassSpans {
    const loop = this.loopTracer.startSpan("LOOP", { attributes: { loop: true } });
    const parent = trace.setSpan(context.active(), loop);
    return {
      job: (job) => {
        const span: Span = this.loopTracer.startSpan("LOOP_JOB", { attributes: jobAttributes(job) }, parent);
        const initial = {
          "job.initial_state": enumName(job.state),
          "job.initial_code": enumName(job.statusCode),
        };
        return (handled, error) => {
          span.setAttributes({
            ...initial,
            "job.final_state": enumName(handled.state),
            "job.final_code": enumName(handled.statusCode),
          });
          if (error !== undefined) {
            span.setAttribute("job.fatal_error", true);
            span.recordException(error instanceof Error ? error : String(error));
            span.setStatus({ code: SpanStatusCode.ERROR });
          }
          span.end();
        };
      },
      end: () => loop.end(),
    };
  }

  /**
   * A TICK over `jobs()` (those still active) if TICK_POLL_INTERVAL has passed since the last; `nowNs` Unix ns.
   * `jobs` is called only then.
   */
  tick(jobs: () => readonly Job[], nowNs: number): void {
    const last = this.lastTickNs;
    if (last !== null && nowNs - last < this.tickIntervalMs * 1e6) return;
    this.lastTickNs = nowNs;
    if (last === null) return;
    const [start, end] = [hrTime(last), hrTime(nowNs)];
    const root = this.tickTracer.startSpan("TICK", { startTime: start });
    const parent = trace.setSpan(context.active(), root);
    for (const job of jobs()) {
      if (!isActiveState(job.state)) continue;
      this.tickTracer
        .startSpan(enumName(job.statusCode), { startTime: start, attributes: jobAttributes(job) }, parent)
        .end(end);
    }
    root.end(end);
  }
}
