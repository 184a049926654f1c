/**
 * RAP API client tokens. The `Authorization` header carries the raw token (what job-server sends) or
 * `Bearer <token>` (what the OpenAPI document says); DESIGN DECISIONS 1. Tokens are compared as SHA-256 digests
 * with timingSafeEqual against every configured token, so the time taken says nothing about how much of a guess
 * was right, nor which token matched.
 */
import { hash, timingSafeEqual } from "node:crypto";
import type { Config } from "../config/index.js";
import { InvalidTokenError, NoTokenError } from "./errors.js";

const BEARER = /^bearer\s+/i;

function digest(token: string): Buffer {
  return hash("sha256", token, "buffer");
}

export class ClientTokens {
  private readonly entries: ReadonlyArray<{ digest: Buffer; backends: readonly string[] }>;

  constructor(tokens: Config["clientTokens"]) {
    this.entries = [...tokens].map(([token, backends]) => ({ digest: digest(token), backends }));
  }

  private lookup(token: string): readonly string[] | undefined {
    const presented = digest(token);
    let found: readonly string[] | undefined;
    for (const entry of this.entries) {
      if (timingSafeEqual(entry.digest, presented)) found = entry.backends;
    }
    return found;
  }

  /** The backends the header's token may see; throws NoTokenError / InvalidTokenError otherwise. */
  backendsFor(header: string | undefined): readonly string[] {
    if (!header) throw new NoTokenError();
    const backends =
      this.lookup(header) ?? (BEARER.test(header) ? this.lookup(header.replace(BEARER, "")) : undefined);
    if (!backends) throw new InvalidTokenError();
    return backends;
  }
}
