import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";
import { silentLogger } from "../../src/agent/log.js";
import { type JobMetrics, MetricsSampler, MetricsStore, updateMetrics } from "../../src/agent/metrics.js";
import { RuntimeError } from "../../src/agent/runtime/types.js";

const MIB = 1024 * 1024;

test("aggregates follow the reference's worked example", () => {
  const a = updateMetrics(null, { cpuPercent: 50, memoryBytes: 100 * MIB, containerId: "c1" }, 1, 1);
  expect(a).toMatchObject({
    cpu_cumsum: 50,
    cpu_mean: 50,
    mem_mb_cumsum: 100,
    mem_mb_mean: 100,
    cpu_peak: 50,
  });
  const b = updateMetrics(a, { cpuPercent: 100, memoryBytes: 1000 * MIB, containerId: "c1" }, 1, 2);
  expect(b).toMatchObject({
    cpu_cumsum: 150,
    cpu_mean: 75,
    mem_mb_mean: 550,
    cpu_peak: 100,
    mem_mb_peak: 1000,
  });
  const c = updateMetrics(b, { cpuPercent: 100, memoryBytes: 1000 * MIB, containerId: "c1" }, 8, 10);
  expect(c).toEqual<JobMetrics>({
    cpu_sample: 100,
    cpu_cumsum: 950,
    cpu_mean: 95,
    cpu_peak: 100,
    mem_mb_sample: 1000,
    mem_mb_cumsum: 9100,
    mem_mb_mean: 910,
    mem_mb_peak: 1000,
    container_id: "c1",
  });
  // A restarted job (new container) starts again from zero.
  const d = updateMetrics(c, { cpuPercent: 10, memoryBytes: 10 * MIB, containerId: "c2" }, 1, 1);
  expect(d).toMatchObject({ cpu_cumsum: 10, cpu_peak: 10, mem_mb_peak: 10, container_id: "c2" });
});

test("the sampler skips its first tick, then stores aggregates that a new store object reads back", async () => {
  const dir = await mkdtemp(join(tmpdir(), "rap-metrics-"));
  try {
    let now = 1_700_000_000_000;
    const stats = [
      { jobId: "job1", containerId: "c1", cpuPercent: 50, memoryBytes: 1000 * MIB, createdAt: now / 1000 },
      { jobId: "young", containerId: "c9", cpuPercent: 50, memoryBytes: MIB, createdAt: now / 1000 + 10 },
    ];
    const sampler = new MetricsSampler({
      runtime: { stats: async () => stats },
      store: new MetricsStore(dir),
      intervalMs: 10_000,
      log: silentLogger,
      now: () => now,
    });
    await sampler.tick();
    expect(await new MetricsStore(dir).read("job1")).toEqual({});
    now += 10_000;
    await sampler.tick();
    expect(await new MetricsStore(dir).read("job1")).toMatchObject({
      cpu_cumsum: 500,
      cpu_mean: 50,
      mem_mb_cumsum: 10000,
      mem_mb_mean: 1000,
    });
    expect(await new MetricsStore(dir).read("young")).toEqual({});
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a failing stats call is logged with the error's class, even one that never set its name", async () => {
  const warnings: Array<Record<string, unknown>> = [];
  let now = 0;
  const sampler = new MetricsSampler({
    runtime: {
      stats: async () => {
        throw new RuntimeError("docker failed listing job containers: boom");
      },
    },
    store: new MetricsStore(join(tmpdir(), "rap-metrics-unused")),
    intervalMs: 10_000,
    log: { ...silentLogger, warn: (fields) => warnings.push(fields) },
    now: () => now,
  });
  await sampler.tick();
  now += 10_000;
  await sampler.tick();
  expect(warnings).toEqual([{ err: "RuntimeError: docker failed listing job containers: boom" }]);
});

test("stopping ends a tick whose stats the runtime has not answered, and logs no failure", async () => {
  const warnings: Array<Record<string, unknown>> = [];
  let now = 0;
  let asked!: () => void;
  const statsAsked = new Promise<void>((resolve) => {
    asked = resolve;
  });
  const sampler = new MetricsSampler({
    // A daemon that answers only when told to stop waiting.
    runtime: {
      stats: (signal) => {
        if (now > 0) asked();
        return new Promise((_, reject) => signal?.addEventListener("abort", () => reject(signal.reason)));
      },
    },
    store: new MetricsStore(join(tmpdir(), "rap-metrics-unused")),
    intervalMs: 10,
    log: { ...silentLogger, warn: (fields) => warnings.push(fields) },
    now: () => now++,
  });
  const stop = new AbortController();
  const running = sampler.run(stop.signal);
  await statsAsked;
  stop.abort();
  await running;
  expect(warnings).toEqual([]);
});
