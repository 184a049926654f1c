/**
 * OpenTelemetry tracing for a process (reference/controller.md §9): spans go to OTLP/HTTP and/or the console as
 * configured; with neither configured there is no tracing at all, and no cost per request.
 */
import { readFileSync } from "node:fs";
import type { Tracer } from "@opentelemetry/api";
import { setGlobalErrorHandler } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
  type SpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import type { TelemetryConfig } from "../config/index.js";
import { OtlpHttpSpanExporter } from "./otlp-exporter.js";
import { JobIdGenerator } from "./span-ids.js";

export interface Tracing {
  tracer(name: string): Tracer;
  /** Lets a job's root span be emitted with the ids its trace context promised (src/telemetry/job-spans.ts). */
  readonly ids: JobIdGenerator;
  /** Sends what is still buffered, then stops. */
  shutdown(): Promise<void>;
}

function packageVersion(): string {
  const manifest = new URL("../../package.json", import.meta.url);
  return (JSON.parse(readFileSync(manifest, "utf8")) as { version: string }).version;
}

/**
 * Tracing for `service` (`controller`, `agent`), or undefined when no exporter is configured. `onError` hears of
 * spans that could not be sent (OpenTelemetry reports them to one handler per process, silently by default).
 */
export function startTracing(
  config: TelemetryConfig,
  service: string,
  onError: (error: unknown) => void,
): Tracing | undefined {
  const processors: SpanProcessor[] = [];
  if (config.otlp) {
    const exporter = new OtlpHttpSpanExporter(config.otlp.tracesUrl, config.otlp.headers);
    processors.push(new BatchSpanProcessor({ exporter }));
  }
  if (config.console) processors.push(new SimpleSpanProcessor({ exporter: new ConsoleSpanExporter() }));
  if (processors.length === 0) return undefined;
  setGlobalErrorHandler(onError);

  const ids = new JobIdGenerator();
  const provider = new TracerProvider({
    idGenerator: ids,
    resource: resourceFromAttributes({
      "service.name": config.serviceName,
      "service.version": packageVersion(),
      "rap.service": service,
    }),
    spanProcessors: processors,
  });
  return {
    tracer: (name) => provider.getTracer(name),
    ids,
    shutdown: () => provider.shutdown(),
  };
}
