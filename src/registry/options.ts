/** What the digest resolver is given by its caller (the module never reads process.env). */
import type { Fetch } from "./http.js";

/** A structured logger; a pino logger fits. */
export interface RegistryLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface ImageDigestOptions {
  /** DOCKER_REGISTRY: registry host and repository path, `ghcr.io/opensafely-core`. */
  registry: string;
  /** RESOLVE_IMAGE_DIGESTS: when false every digest is null and agents run the tag they have. */
  enabled: boolean;
  /** Upper bound for each request (manifest or token), body included. */
  timeoutMs: number;
  /** How long a digest is used without asking again, so a re-pushed tag is picked up after at most this long. */
  ttlMs: number;
  /** Defaults to the global fetch. */
  fetch?: Fetch;
  /** Milliseconds since the epoch; defaults to Date.now. */
  now?: () => number;
  /** Told when a lookup failed and a cached digest was used instead. */
  log?: RegistryLogger;
  /** Told of every digest needed: `hit` when the cache answered, `miss` when the registry was asked (metrics). */
  onLookup?: (result: "hit" | "miss") => void;
}

export const DEFAULT_IMAGE_DIGEST_TIMEOUT_MS = 10_000;
export const DEFAULT_IMAGE_DIGEST_TTL_MS = 5 * 60_000;

/** The one interface callers hold, whether digests are resolved or not. */
export interface ImageDigestResolver {
  /** `python:v2` → `sha256:<64 hex>`, or null when resolution is turned off. */
  resolve(nameTag: string): Promise<string | null>;
  /** Whether `resolve` answers without asking the registry (what it knows is fresh, or nothing is resolved). */
  known(nameTag: string): boolean;
}
