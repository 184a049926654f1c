/**
 * Parsing `WWW-Authenticate` (RFC 9110 §11.6.1) well enough for registries: one or more challenges, each a scheme
 * and `name=value` parameters, values plain or quoted (quoted values may hold commas, as a multi-action `scope`
 * does, and backslash escapes). Several headers arrive joined by ", ", which is the same grammar. Pure.
 */

export interface Challenge {
  /** Lower case: `bearer`, `basic`. */
  readonly scheme: string;
  /** Parameter names in lower case; values unquoted. */
  readonly params: Readonly<Record<string, string>>;
}

/** The parameters of a Bearer challenge: where to get a token and for what. */
export interface BearerChallenge {
  readonly realm: string;
  readonly service?: string;
  readonly scope?: string;
}

const TOKEN_CHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;

/** The first Bearer challenge with a realm, or undefined. */
export function bearerChallenge(header: string | null): BearerChallenge | undefined {
  if (header === null) return undefined;
  const bearer = parseChallenges(header).find((c) => c.scheme === "bearer" && c.params.realm);
  if (!bearer) return undefined;
  const { realm, service, scope } = bearer.params;
  return { realm: realm!, ...(service !== undefined && { service }), ...(scope !== undefined && { scope }) };
}

/**
 * Every challenge in the header, in order. Never throws: a malformed part (or a token68 credential such as
 * `Negotiate abc/def==`) becomes challenges without the parameters a Bearer flow needs.
 */
export function parseChallenges(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  let i = 0;
  const skip = (chars: RegExp) => {
    while (i < header.length && chars.test(header[i]!)) i += 1;
  };
  const read = (chars: RegExp): string => {
    const start = i;
    skip(chars);
    return header.slice(start, i);
  };
  const readQuoted = (): string => {
    let value = "";
    i += 1; // opening quote
    while (i < header.length && header[i] !== '"') {
      if (header[i] === "\\" && i + 1 < header.length) i += 1;
      value += header[i];
      i += 1;
    }
    i += 1; // closing quote
    return value;
  };

  while (i < header.length) {
    skip(/[\s,]/);
    const scheme = read(TOKEN_CHAR);
    if (scheme === "") {
      i += 1; // not a challenge: step over the stray character
      continue;
    }
    const params: Record<string, string> = {};
    skip(/[ \t]/);
    for (;;) {
      const start = i;
      const name = read(TOKEN_CHAR);
      skip(/[ \t]/);
      if (name === "" || header[i] !== "=") {
        i = start; // the next challenge's scheme (or junk, which yields no usable challenge)
        break;
      }
      i += 1; // "="
      skip(/[ \t]/);
      params[name.toLowerCase()] = header[i] === '"' ? readQuoted() : read(/[^\s,]/);
      skip(/[ \t]/);
      if (header[i] !== ",") break;
      skip(/[\s,]/);
    }
    challenges.push({ scheme: scheme.toLowerCase(), params });
  }
  return challenges;
}
