/**
 * `rap_http_request_duration_seconds`: one observation per HTTP answer, so it must cost next to nothing. prom-client's
 * Histogram builds a labels object, a hash string and a closure per observation; here the series sit in nested maps
 * keyed by the label values (no allocation once a series exists) and are rendered at scrape time through the same
 * registry, in the same text format (`_bucket` with `le`, `_sum`, `_count`).
 */
import type { Metric, MetricValueWithName, Registry } from "prom-client";

interface Series {
  /** Observations per bucket (not cumulative); the last slot is above every bound. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

type ByStatus = Map<number, Series>;
type ByMethod = Map<string, ByStatus>;

export class RequestDurations {
  readonly name = "rap_http_request_duration_seconds";
  readonly help = "HTTP requests this process answered, by route pattern, method and status.";
  readonly type = "histogram";
  private readonly routes = new Map<string, ByMethod>();

  constructor(
    registry: Registry,
    private readonly bounds: readonly number[],
  ) {
    // The registry only calls get() and reads name, help and type: the rest of prom-client's Metric is not needed.
    registry.registerMetric(this as unknown as Metric);
  }

  observe(route: string, method: string, status: number, seconds: number): void {
    let methods = this.routes.get(route);
    if (!methods) {
      methods = new Map();
      this.routes.set(route, methods);
    }
    let statuses = methods.get(method);
    if (!statuses) {
      statuses = new Map();
      methods.set(method, statuses);
    }
    let series = statuses.get(status);
    if (!series) {
      series = { counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
      statuses.set(status, series);
    }
    let slot = 0;
    while (slot < this.bounds.length && seconds > this.bounds[slot]!) slot += 1;
    series.counts[slot]! += 1;
    series.sum += seconds;
    series.count += 1;
  }

  /** What the registry renders: prom-client's shape (its typings declare `type` as an enum its code never uses). */
  async get() {
    const values: MetricValueWithName<string>[] = [];
    for (const [route, methods] of this.routes)
      for (const [method, statuses] of methods)
        for (const [status, series] of statuses) {
          const labels = { route, method, status };
          let cumulative = 0;
          this.bounds.forEach((bound, slot) => {
            cumulative += series.counts[slot]!;
            values.push({
              metricName: `${this.name}_bucket`,
              labels: { le: bound, ...labels },
              value: cumulative,
            });
          });
          values.push({
            metricName: `${this.name}_bucket`,
            labels: { le: "+Inf", ...labels },
            value: series.count,
          });
          values.push({ metricName: `${this.name}_sum`, labels, value: series.sum });
          values.push({ metricName: `${this.name}_count`, labels, value: series.count });
        }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: "sum" };
  }
}
