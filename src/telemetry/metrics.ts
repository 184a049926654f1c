/**
 * The controller's Prometheus metrics (docs/metrics.md), one registry per instance: tests build several controllers
 * in one process, and each must count only its own. Two kinds:
 * - per process: counters and histograms this process updates as it works (every replica exports its own);
 * - from the database: gauges read when scraped (the same in every replica), through `reads`.
 * Labels are bounded: backends, states, status codes, route patterns, outcomes; never a job id or a workspace.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { AGENT_STORAGES, type AgentFigures } from "../domain/agent-figures.js";
import type { Job } from "../domain/job.js";
import type { JobObserver } from "../domain/job-observer.js";
import { isFinalCode, StatusCode } from "../domain/status.js";
import { RequestDurations } from "./request-durations.js";

/** What a scrape reads from the database. */
export interface MetricsReads {
  activeJobCounts(): Promise<
    ReadonlyArray<{ backend: string; state: string; statusCode: string; count: number }>
  >;
  /** When each backend's agent last polled (Unix seconds; null if never). */
  agentLastSeen(): Promise<ReadonlyMap<string, number | null>>;
}

/** `error`: the update could not be recorded (the database failed); the agent sends it again. */
export type TaskUpdateResult = "accepted" | "stale" | "invalid" | "unknown_task" | "error";

/** Seconds: a fast answer is a millisecond, a large create a few seconds. */
const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Seconds: a pass over a few jobs takes milliseconds, over thousands a second or more. */
const PASS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Seconds: a fetch from a local repository takes milliseconds, from GitHub seconds to minutes. */
const FETCH_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/** The route label of a request that matched no route (never its URL, which a client chooses). */
export const UNMATCHED_ROUTE = "unmatched";

interface Reported {
  figures: AgentFigures;
  atS: number;
}

export class ControllerMetrics {
  readonly registry = new Registry();
  private readonly reported = new Map<string, Reported>();

  private readonly jobsStarted: Counter<"backend">;
  private readonly jobsFinished: Counter<"backend" | "outcome">;
  private readonly passDuration: Histogram;
  private readonly passesFailed: Counter;
  private readonly jobHandlingErrors: Counter;
  private readonly tasksServed: Counter<"backend">;
  private readonly taskUpdates: Counter<"backend" | "result">;
  private readonly requestDuration: RequestDurations;
  private readonly gitFetchDuration: Histogram<"outcome">;
  private readonly imageDigestLookups: Counter<"result">;

  constructor(
    reads: MetricsReads,
    /** Unix seconds, fractional. */
    private readonly now: () => number,
  ) {
    const registers = [this.registry];
    this.jobsStarted = new Counter({
      name: "rap_jobs_started_total",
      help: "Jobs this process's scheduler started (gave a RUNJOB task), by backend.",
      labelNames: ["backend"],
      registers,
    });
    this.jobsFinished = new Counter({
      name: "rap_jobs_finished_total",
      help: "Jobs this process's scheduler finished, by backend and final status code.",
      labelNames: ["backend", "outcome"],
      registers,
    });
    this.passDuration = new Histogram({
      name: "rap_scheduler_pass_duration_seconds",
      help: "How long this process's scheduler passes took.",
      buckets: PASS_BUCKETS,
      registers,
    });
    this.passesFailed = new Counter({
      name: "rap_scheduler_passes_failed_total",
      help: "Scheduler passes that failed as a whole (the database could not be read, or the pass stopped).",
      registers,
    });
    this.jobHandlingErrors = new Counter({
      name: "rap_scheduler_job_errors_total",
      help: "Errors handling one job in a pass (the job is tried again next pass).",
      registers,
    });
    this.tasksServed = new Counter({
      name: "rap_tasks_served_total",
      help: "Tasks this process served to agents polling GET /{backend}/tasks/, by backend.",
      labelNames: ["backend"],
      registers,
    });
    this.taskUpdates = new Counter({
      name: "rap_task_updates_total",
      help: "Task updates agents posted to this process, by backend and result (accepted, stale, invalid, unknown_task, error).",
      labelNames: ["backend", "result"],
      registers,
    });
    this.requestDuration = new RequestDurations(this.registry, REQUEST_BUCKETS);
    this.gitFetchDuration = new Histogram({
      name: "rap_git_fetch_duration_seconds",
      help: "git fetches of a commit by this process (retries included), by outcome (ok, error).",
      labelNames: ["outcome"],
      buckets: FETCH_BUCKETS,
      registers,
    });
    this.imageDigestLookups = new Counter({
      name: "rap_image_digest_lookups_total",
      help: "Image digests this process needed, by result: hit (from its cache) or miss (the registry was asked).",
      labelNames: ["result"],
      registers,
    });

    new Gauge({
      name: "rap_jobs",
      help: "Pending and running jobs, by backend, state and status code (read from the database).",
      labelNames: ["backend", "state", "status_code"],
      registers,
      async collect() {
        this.reset();
        for (const row of await reads.activeJobCounts())
          this.set({ backend: row.backend, state: row.state, status_code: row.statusCode }, row.count);
      },
    });
    new Gauge({
      name: "rap_agent_last_seen_age_seconds",
      help: "Seconds since each backend's agent last polled for tasks (read from the database).",
      labelNames: ["backend"],
      registers,
      async collect() {
        this.reset();
        const at = now();
        for (const [backend, seen] of await reads.agentLastSeen())
          if (seen !== null) this.set({ backend }, Math.max(0, at - seen));
      },
    });
    this.agentGauges(registers);
  }

  /** The figures each backend's agent last reported to this process (src/domain/agent-figures.ts). */
  private agentGauges(registers: Registry[]): void {
    const reported = this.reported;
    const now = this.now;
    const each = (set: (backend: string, latest: Reported) => void) => {
      for (const [backend, latest] of reported) set(backend, latest);
    };
    new Gauge({
      name: "rap_agent_report_age_seconds",
      help: "Seconds since each backend's agent last reported its figures to this process.",
      labelNames: ["backend"],
      registers,
      collect() {
        this.reset();
        const at = now();
        each((backend, latest) => this.set({ backend }, Math.max(0, at - latest.atS)));
      },
    });
    new Gauge({
      name: "rap_agent_running_jobs",
      help: "Jobs running on each backend, as its agent last reported.",
      labelNames: ["backend"],
      registers,
      collect() {
        this.reset();
        each((backend, latest) => this.set({ backend }, latest.figures.running_jobs));
      },
    });
    new Counter({
      name: "rap_agent_runtime_errors_total",
      help: "Failed runtime calls on each backend since its agent started, as it last reported.",
      labelNames: ["backend"],
      registers,
      collect() {
        this.reset();
        each((backend, latest) => this.inc({ backend }, latest.figures.runtime_errors));
      },
    });
    new Gauge({
      name: "rap_agent_storage_free_bytes",
      help: "Free bytes on each backend's workspace storages, as its agent last reported.",
      labelNames: ["backend", "storage"],
      registers,
      collect() {
        this.reset();
        each((backend, latest) => {
          for (const storage of AGENT_STORAGES) {
            const free = latest.figures.storage_free_bytes[storage];
            if (free !== undefined) this.set({ backend, storage }, free);
          }
        });
      },
    });
  }

  /** The text a scrape answers, and its content type. */
  async scrape(): Promise<{ text: string; contentType: string }> {
    return { text: await this.registry.metrics(), contentType: this.registry.contentType };
  }

  /** Counts jobs started and finished, told of every committed status change. */
  readonly jobObserver: JobObserver = {
    statusChanged: (job: Job) => this.jobStatusChanged(job.backend, job.statusCode),
  };

  /** A job's new status, committed (from `jobObserver`, or from a scheduler on a thread of its own). */
  jobStatusChanged(backend: string, statusCode: StatusCode): void {
    if (statusCode === StatusCode.Initiated) this.jobsStarted.inc({ backend });
    else if (isFinalCode(statusCode)) this.jobsFinished.inc({ backend, outcome: statusCode });
  }

  passFinished(seconds: number, jobErrors: number): void {
    this.passDuration.observe(seconds);
    if (jobErrors > 0) this.jobHandlingErrors.inc(jobErrors);
  }

  passFailed(): void {
    this.passesFailed.inc();
  }

  tasksServedTo(backend: string, count: number): void {
    this.tasksServed.inc({ backend }, count);
  }

  taskUpdate(backend: string, result: TaskUpdateResult): void {
    this.taskUpdates.inc({ backend, result });
  }

  agentReported(backend: string, figures: AgentFigures): void {
    this.reported.set(backend, { figures, atS: this.now() });
  }

  requestAnswered(route: string, method: string, status: number, seconds: number): void {
    this.requestDuration.observe(route, method, status, seconds);
  }

  gitFetched(seconds: number, ok: boolean): void {
    this.gitFetchDuration.observe({ outcome: ok ? "ok" : "error" }, seconds);
  }

  imageDigest(result: "hit" | "miss"): void {
    this.imageDigestLookups.inc({ result });
  }
}
