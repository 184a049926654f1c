/**
 * Sends spans over OTLP/HTTP (protobuf), the way the reference's exporter does. Written here rather than taken from
 * @opentelemetry/exporter-trace-otlp-http because that exporter also reads OTEL_* variables from the process
 * environment itself, and would send the raw OTEL_EXPORTER_OTLP_HEADERS (quotes and all) next to the cleaned ones;
 * here the configuration module is the only reader of the environment.
 */
import { type ExportResult, ExportResultCode } from "@opentelemetry/core";
import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace";

const EXPORT_TIMEOUT_MS = 10_000;

export class OtlpHttpSpanExporter implements SpanExporter {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly url: string,
    private readonly headers: Readonly<Record<string, string>>,
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    const body = ProtobufTraceSerializer.serializeRequest(spans);
    if (body === undefined) {
      done({ code: ExportResultCode.FAILED, error: new Error("could not encode spans") });
      return;
    }
    const sent = this.send(body).then(done);
    this.pending.add(sent);
    void sent.finally(() => this.pending.delete(sent));
  }

  private async send(body: Uint8Array): Promise<ExportResult> {
    try {
      const response = await fetch(this.url, {
        method: "POST",
        headers: { ...this.headers, "content-type": "application/x-protobuf" },
        body,
        signal: AbortSignal.timeout(EXPORT_TIMEOUT_MS),
      });
      await response.arrayBuffer();
      if (response.ok) return { code: ExportResultCode.SUCCESS };
      // The URL and status only: the headers hold the API key.
      return {
        code: ExportResultCode.FAILED,
        error: new Error(`OTLP export to ${this.url} answered ${response.status}`),
      };
    } catch (error) {
      return {
        code: ExportResultCode.FAILED,
        error: new Error(`OTLP export to ${this.url} failed: ${(error as Error).message}`),
      };
    }
  }

  async forceFlush(): Promise<void> {
    await Promise.all(this.pending);
  }

  async shutdown(): Promise<void> {
    await this.forceFlush();
  }
}
