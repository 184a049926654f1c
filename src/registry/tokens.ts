/**
 * Anonymous bearer tokens, as ghcr.io (and any distribution registry with token auth) wants for public images:
 * GET `realm?service=…&scope=…` without credentials and use the `token` it returns. Tokens are kept per
 * realm, service and scope until the registry refuses one; concurrent callers share a single token request.
 */
import type { BearerChallenge } from "./challenge.js";
import { type TimedFetch, UnusableAnswerError } from "./http.js";

interface Entry {
  readonly promise: Promise<string>;
  /** Set once the token has arrived. */
  value?: string;
}

export class BearerTokens {
  readonly #entries = new Map<string, Entry>();

  constructor(private readonly request: TimedFetch) {}

  /**
   * A token for the challenge: the cached one, unless that is `rejected` (the token the registry just refused),
   * in which case a new one is requested once however many callers report the same refusal.
   */
  get(challenge: BearerChallenge, rejected?: string): Promise<string> {
    const key = JSON.stringify([challenge.realm, challenge.service ?? null, challenge.scope ?? null]);
    const cached = this.#entries.get(key);
    if (cached && (rejected === undefined || cached.value !== rejected)) return cached.promise;
    const entry: Entry = { promise: this.#requestToken(challenge) };
    entry.promise.then(
      (value) => {
        entry.value = value;
      },
      () => {
        if (this.#entries.get(key) === entry) this.#entries.delete(key);
      },
    );
    this.#entries.set(key, entry);
    return entry.promise;
  }

  async #requestToken(challenge: BearerChallenge): Promise<string> {
    const response = await this.request(tokenUrl(challenge), {
      method: "GET",
      headers: { accept: "application/json" },
    });
    if (!response.ok) {
      await response.body?.cancel();
      throw new UnusableAnswerError(`the token service answered HTTP ${response.status}`);
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch (error) {
      if (error instanceof SyntaxError)
        throw new UnusableAnswerError("the token service did not answer JSON");
      throw error;
    }
    const { token, access_token } = (typeof body === "object" && body !== null ? body : {}) as Record<
      string,
      unknown
    >;
    const found = typeof token === "string" && token !== "" ? token : access_token;
    if (typeof found !== "string" || found === "") {
      throw new UnusableAnswerError("the token service's answer held no token");
    }
    return found;
  }
}

/** `realm?service=…&scope=…`, keeping any query the realm already has. Pure. */
export function tokenUrl(challenge: BearerChallenge): string {
  let url: URL;
  try {
    url = new URL(challenge.realm);
  } catch {
    throw new UnusableAnswerError("the registry named a token service that is not a URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new UnusableAnswerError("the registry named a token service that is not http or https");
  }
  if (challenge.service !== undefined) url.searchParams.set("service", challenge.service);
  if (challenge.scope !== undefined) url.searchParams.set("scope", challenge.scope);
  return url.href;
}
