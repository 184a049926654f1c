/**
 * Resource use of running jobs (reference/agent.md §4): a sampler reads the runtime's stats every
 * STATS_POLL_INTERVAL and keeps running aggregates per job, stored as one small JSON file per job under
 * WORKDIR/metrics so they survive an agent restart. Finalize reads them into `job_metrics`.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describeError } from "./errors.js";
import type { AgentLogger } from "./log.js";
import type { ContainerStats, Runtime } from "./runtime/types.js";
import { writeFileAtomic } from "./workspace/files.js";
import { safeSegment } from "./workspace/paths.js";

export interface JobMetrics {
  cpu_sample: number;
  cpu_cumsum: number;
  cpu_mean: number;
  cpu_peak: number;
  mem_mb_sample: number;
  mem_mb_cumsum: number;
  mem_mb_mean: number;
  mem_mb_peak: number;
  container_id: string;
}

/**
 * The aggregates after one sample. `durationS` is the whole seconds since the previous tick, `runtimeS` the
 * container's whole seconds of life; a different container id (the job was restarted) starts from zero. Pure.
 */
export function updateMetrics(
  previous: Partial<JobMetrics> | null,
  sample: { cpuPercent: number; memoryBytes: number; containerId: string },
  durationS: number,
  runtimeS: number,
): JobMetrics {
  const base =
    previous && previous.container_id === sample.containerId ? previous : ({} as Partial<JobMetrics>);
  const memMb = sample.memoryBytes / (1024 * 1024);
  const cpuCumsum = (base.cpu_cumsum ?? 0) + durationS * sample.cpuPercent;
  const memCumsum = (base.mem_mb_cumsum ?? 0) + durationS * memMb;
  return {
    cpu_sample: sample.cpuPercent,
    cpu_cumsum: cpuCumsum,
    cpu_mean: cpuCumsum / runtimeS,
    cpu_peak: Math.max(base.cpu_peak ?? 0, sample.cpuPercent),
    mem_mb_sample: memMb,
    mem_mb_cumsum: memCumsum,
    mem_mb_mean: memCumsum / runtimeS,
    mem_mb_peak: Math.max(base.mem_mb_peak ?? 0, memMb),
    container_id: sample.containerId,
  };
}

/** One `{job id}.json` per job; a missing or unreadable file reads as `{}`. */
export class MetricsStore {
  constructor(private readonly dir: string) {}

  async read(jobId: string): Promise<Record<string, unknown>> {
    try {
      return JSON.parse(await readFile(this.path(jobId), "utf8")) as Record<string, unknown>;
    } catch {
      return {};
    }
  }

  async write(jobId: string, metrics: JobMetrics): Promise<void> {
    await writeFileAtomic(this.path(jobId), JSON.stringify(metrics));
  }

  private path(jobId: string): string {
    return join(this.dir, `${safeSegment(jobId, "job")}.json`);
  }
}

export interface MetricsSamplerOptions {
  readonly runtime: Pick<Runtime, "stats">;
  readonly store: MetricsStore;
  readonly intervalMs: number;
  readonly log: AgentLogger;
  /** Unix ms; injectable for tests. */
  readonly now?: () => number;
}

/** Samples every running job container; the first tick only starts the clock, as in the reference. */
export class MetricsSampler {
  private lastRunMs: number | null = null;
  private readonly now: () => number;

  constructor(private readonly options: MetricsSamplerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** One sample of every running job; once `signal` aborts, nothing more is read or written. */
  async tick(signal?: AbortSignal): Promise<void> {
    const now = this.now();
    const last = this.lastRunMs;
    this.lastRunMs = now;
    if (last === null) return;
    let stats: ContainerStats[];
    try {
      stats = await this.options.runtime.stats(signal);
    } catch (error) {
      if (signal?.aborted) return;
      this.options.log.warn({ err: describeError(error) }, "could not read container stats");
      return;
    }
    const durationS = Math.trunc((now - last) / 1000);
    for (const sample of stats) {
      if (signal?.aborted) return;
      const runtimeS = Math.trunc(now / 1000) - sample.createdAt;
      if (runtimeS <= 0) continue;
      const previous = (await this.options.store.read(sample.jobId)) as Partial<JobMetrics>;
      const metrics = updateMetrics(
        previous,
        { cpuPercent: sample.cpuPercent, memoryBytes: sample.memoryBytes, containerId: sample.containerId },
        durationS,
        runtimeS,
      );
      await this.options.store.write(sample.jobId, metrics);
    }
  }

  /**
   * Ticks until the signal aborts, which also ends a tick in progress (the runtime's daemon may take its time to
   * answer); a failing tick is logged and the next one runs as usual.
   */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const started = this.now();
      try {
        await this.tick(signal);
      } catch (error) {
        this.options.log.error({ err: describeError(error) }, "Exception in metrics sampler");
      }
      // The reference pauses at least 2 s between ticks (less only when the interval itself is shorter).
      const interval = this.options.intervalMs;
      const wait = Math.max(Math.min(2000, interval), interval - (this.now() - started));
      await sleep(wait, undefined, { signal }).catch(() => undefined);
    }
  }
}
