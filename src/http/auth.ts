/**
 * Tokens in the `Authorization` header, for both APIs. The header carries the raw token (what job-server and the
 * reference's agent send) or `Bearer <token>` (what the OpenAPI document says); DESIGN DECISIONS 1. Tokens are
 * compared as SHA-256 digests with timingSafeEqual against every known token, so the time taken says nothing about
 * how much of a guess was right, nor which token matched.
 */
import { hash, timingSafeEqual } from "node:crypto";
import type { Config } from "../config/index.js";
import { InvalidTokenError, NoTokenError } from "./errors.js";

const BEARER = /^bearer\s+/i;

function digest(token: string): Buffer {
  return hash("sha256", token, "buffer");
}

/** Values keyed by secret tokens. */
export class TokenTable<T> {
  private readonly entries: ReadonlyArray<{ digest: Buffer; value: T }>;

  constructor(tokens: Iterable<readonly [string, T]>) {
    this.entries = [...tokens].map(([token, value]) => ({ digest: digest(token), value }));
  }

  private lookup(token: string): T | undefined {
    const presented = digest(token);
    let found: T | undefined;
    for (const entry of this.entries) {
      if (timingSafeEqual(entry.digest, presented)) found = entry.value;
    }
    return found;
  }

  /** The value of the header's token, taken as sent and then without a `Bearer ` prefix; undefined for no match. */
  match(header: string): T | undefined {
    return this.lookup(header) ?? (BEARER.test(header) ? this.lookup(header.replace(BEARER, "")) : undefined);
  }
}

/** RAP API client tokens, each naming the backends its client may see. */
export class ClientTokens {
  private readonly table: TokenTable<readonly string[]>;

  constructor(tokens: Config["clientTokens"]) {
    this.table = new TokenTable(tokens);
  }

  /** The backends the header's token may see; throws NoTokenError / InvalidTokenError otherwise. */
  backendsFor(header: string | undefined): readonly string[] {
    if (!header) throw new NoTokenError();
    const backends = this.table.match(header);
    if (!backends) throw new InvalidTokenError();
    return backends;
  }
}

/** Operator tokens (OPERATOR_TOKENS): the metrics, the dashboard and live logs, across every backend. */
export class OperatorTokens {
  private readonly table: TokenTable<true>;

  constructor(tokens: readonly string[]) {
    this.table = new TokenTable(tokens.map((token) => [token, true] as const));
  }

  /** Throws NoTokenError / InvalidTokenError unless the header carries an operator token. */
  check(header: string | undefined): void {
    if (!header) throw new NoTokenError();
    if (!this.table.match(header)) throw new InvalidTokenError();
  }
}
