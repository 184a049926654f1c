/**
 * The OpenTelemetry settings the reference reads (reference/controller.md §8): OTEL_EXPORTER_OTLP_HEADERS turns on
 * export over OTLP/HTTP (to OTEL_EXPORTER_OTLP_ENDPOINT, Honeycomb by default), OTEL_EXPORTER_CONSOLE prints spans,
 * OTEL_SERVICE_NAME names the service. The headers hold an API key: no message ever quotes them.
 */
import type { Env } from "./env.js";
import { ConfigError } from "./errors.js";

export interface TelemetryConfig {
  readonly serviceName: string;
  /** Where and how to send spans over OTLP/HTTP; null when OTEL_EXPORTER_OTLP_HEADERS is not set. */
  readonly otlp: { readonly tracesUrl: string; readonly headers: Readonly<Record<string, string>> } | null;
  /** Print each span on stdout. */
  readonly console: boolean;
}

const DEFAULT_ENDPOINT = "https://api.honeycomb.io";

/** `key=value,key2=value2` (values may be percent-encoded), the whole value optionally in quotes. */
function readHeaders(raw: string): Record<string, string> {
  const unquoted = raw.trim().replace(/^(["'])(.*)\1$/s, "$2");
  const headers: Record<string, string> = {};
  for (const pair of unquoted.split(",")) {
    if (pair.trim() === "") continue;
    const equals = pair.indexOf("=");
    const name = equals > 0 ? pair.slice(0, equals).trim() : "";
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      throw new ConfigError(
        "OTEL_EXPORTER_OTLP_HEADERS",
        "must be a list of name=value pairs separated by commas",
      );
    }
    try {
      headers[name.toLowerCase()] = decodeURIComponent(pair.slice(equals + 1).trim());
    } catch {
      throw new ConfigError("OTEL_EXPORTER_OTLP_HEADERS", `has a badly percent-encoded value for '${name}'`);
    }
  }
  return headers;
}

function readTracesUrl(env: Env): string {
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || DEFAULT_ENDPOINT;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new ConfigError("OTEL_EXPORTER_OTLP_ENDPOINT", `must be an http(s) URL, got '${endpoint}'`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError("OTEL_EXPORTER_OTLP_ENDPOINT", `must be an http(s) URL, got '${endpoint}'`);
  }
  // The OTLP rule for the generic endpoint: traces go to <endpoint>/v1/traces.
  return `${endpoint.replace(/\/+$/, "")}/v1/traces`;
}

export function readTelemetry(env: Env): TelemetryConfig {
  const headers = env.OTEL_EXPORTER_OTLP_HEADERS;
  return Object.freeze({
    serviceName: env.OTEL_SERVICE_NAME?.trim() || "jobrunner",
    otlp:
      headers === undefined
        ? null
        : Object.freeze({ tracesUrl: readTracesUrl(env), headers: Object.freeze(readHeaders(headers)) }),
    console: (env.OTEL_EXPORTER_CONSOLE ?? "") !== "",
  });
}
