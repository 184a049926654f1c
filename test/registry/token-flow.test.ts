/**
 * The anonymous Bearer token flow. ghcr.io cannot be reached from here, and docker-registry's own token auth needs a
 * separate token server, so a small HTTP server on 127.0.0.1 STANDS IN FOR ghcr.io: it answers 401 with ghcr.io's
 * `www-authenticate` challenge, issues tokens from a realm on another port, and serves the digest only to a request
 * bearing a token it issued.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, test } from "vitest";
import { ImageDigests, ImageDigestUnavailableError } from "../../src/registry/index.js";
import { manualClock, options, recordingFetch, TTL_MS } from "./helpers.js";

const DIGESTS: Readonly<Record<string, string>> = {
  "python:v2": `sha256:${"a".repeat(64)}`,
  "python:v1": `sha256:${"b".repeat(64)}`,
};

interface GhcrStandIn {
  /** `127.0.0.1:<port>/opensafely-core`, the DOCKER_REGISTRY to use. */
  readonly registry: string;
  readonly realm: string;
  /** The query string of every token request. */
  readonly tokenRequests: string[];
  /** The Authorization header of every manifest request ("" for none) and the status answered. */
  readonly manifestRequests: Array<[string, number]>;
  /** Forget every token issued, as an expiry would. */
  revokeTokens(): void;
  close(): Promise<void>;
}

interface StandInOptions {
  /** The JSON field the token comes in; Docker's spec allows `access_token` as well as `token`. */
  tokenField?: "token" | "access_token";
  /** Status of the token service's answers (200 = a token). */
  tokenStatus?: number;
  /** Refuse every token, as for a private image. */
  refuseAll?: boolean;
}

const servers: GhcrStandIn[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function startGhcrStandIn(settings: StandInOptions = {}): Promise<GhcrStandIn> {
  const issued = new Set<string>();
  const tokenRequests: string[] = [];
  const manifestRequests: Array<[string, number]> = [];
  let count = 0;
  const tokenServer = await listen((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    tokenRequests.push(url.search);
    if (url.pathname !== "/token" || settings.tokenStatus) {
      res.writeHead(settings.tokenStatus ?? 404).end();
      return;
    }
    count += 1;
    const token = `tok-${count}`;
    issued.add(token);
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ [settings.tokenField ?? "token"]: token, expires_in: 300 }));
  });
  const realm = `http://127.0.0.1:${port(tokenServer)}/token`;
  const registryServer = await listen((req, res) => {
    const match = /^\/v2\/opensafely-core\/([a-z0-9-]+)\/manifests\/([\w.-]+)$/.exec(req.url ?? "");
    const auth = req.headers.authorization ?? "";
    const token = auth.startsWith("Bearer ") ? auth.slice("Bearer ".length) : "";
    const answer = (status: number, headers: Record<string, string> = {}) => {
      manifestRequests.push([auth, status]);
      res.writeHead(status, headers).end();
    };
    if (!match) return answer(404);
    if (settings.refuseAll || !issued.has(token)) {
      return answer(401, {
        "www-authenticate": `Bearer realm="${realm}",service="ghcr.io",scope="repository:opensafely-core/${match[1]}:pull"`,
      });
    }
    const digest = DIGESTS[`${match[1]}:${match[2]}`];
    return digest ? answer(200, { "docker-content-digest": digest }) : answer(404);
  });
  const standIn: GhcrStandIn = {
    registry: `127.0.0.1:${port(registryServer)}/opensafely-core`,
    realm,
    tokenRequests,
    manifestRequests,
    revokeTokens: () => issued.clear(),
    close: async () => {
      await Promise.all([close(tokenServer), close(registryServer)]);
    },
  };
  servers.push(standIn);
  return standIn;
}

const SCOPE_QUERY = "?service=ghcr.io&scope=repository%3Aopensafely-core%2Fpython%3Apull";

describe("the anonymous token flow of a ghcr.io stand-in", () => {
  test("401, then a token from the realm on another port, then the digest with the token", async () => {
    const ghcr = await startGhcrStandIn();
    const { fetch, sent } = recordingFetch();
    const digests = new ImageDigests(options(ghcr.registry, { fetch }));
    expect(await digests.resolve("python:v2")).toBe(DIGESTS["python:v2"]);
    const manifest = `http://${ghcr.registry.replace("/opensafely-core", "")}/v2/opensafely-core/python/manifests/v2`;
    expect(sent.map((r) => [r.method, r.url, r.headers.authorization])).toEqual([
      ["HEAD", manifest, undefined],
      ["GET", `${ghcr.realm}${SCOPE_QUERY}`, undefined],
      ["HEAD", manifest, "Bearer tok-1"],
    ]);
    expect(ghcr.manifestRequests).toEqual([
      ["", 401],
      ["Bearer tok-1", 200],
    ]);
  });

  test("one token serves every later lookup of the repository, sent straight away", async () => {
    const ghcr = await startGhcrStandIn();
    const clock = manualClock();
    const digests = new ImageDigests(options(ghcr.registry, { now: clock.now }));
    await digests.resolve("python:v2");
    expect(await digests.resolve("python:v1")).toBe(DIGESTS["python:v1"]);
    clock.advance(TTL_MS);
    expect(await digests.resolve("python:v2")).toBe(DIGESTS["python:v2"]);
    expect(ghcr.tokenRequests).toEqual([SCOPE_QUERY]);
    expect(ghcr.manifestRequests).toEqual([
      ["", 401],
      ["Bearer tok-1", 200],
      ["Bearer tok-1", 200],
      ["Bearer tok-1", 200],
    ]);
  });

  test("concurrent first lookups of two tags share one token request", async () => {
    const ghcr = await startGhcrStandIn();
    const digests = new ImageDigests(options(ghcr.registry));
    expect(await Promise.all([digests.resolve("python:v2"), digests.resolve("python:v1")])).toEqual([
      DIGESTS["python:v2"],
      DIGESTS["python:v1"],
    ]);
    expect(ghcr.tokenRequests).toHaveLength(1);
  });

  test("a refused token is replaced once and the lookup retried", async () => {
    const ghcr = await startGhcrStandIn();
    const clock = manualClock();
    const digests = new ImageDigests(options(ghcr.registry, { now: clock.now }));
    await digests.resolve("python:v2");
    ghcr.revokeTokens();
    clock.advance(TTL_MS);
    expect(await digests.resolve("python:v2")).toBe(DIGESTS["python:v2"]);
    expect(ghcr.tokenRequests).toEqual([SCOPE_QUERY, SCOPE_QUERY]);
    expect(ghcr.manifestRequests).toEqual([
      ["", 401],
      ["Bearer tok-1", 200],
      ["Bearer tok-1", 401],
      ["Bearer tok-2", 200],
    ]);
  });

  test("a token service answering access_token", async () => {
    const ghcr = await startGhcrStandIn({ tokenField: "access_token" });
    const digests = new ImageDigests(options(ghcr.registry));
    expect(await digests.resolve("python:v2")).toBe(DIGESTS["python:v2"]);
  });

  test("a registry refusing every token: unavailable after one refresh, the token never shown", async () => {
    const ghcr = await startGhcrStandIn({ refuseAll: true });
    const digests = new ImageDigests(options(ghcr.registry, { ttlMs: 0 }));
    for (let attempt = 1; attempt <= 2; attempt += 1) {
      const error = await digests.resolve("python:v2").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ImageDigestUnavailableError);
      expect((error as ImageDigestUnavailableError).code).toBe("IMAGE_DIGEST_UNAVAILABLE");
      expect((error as Error).message).toBe(
        `Waiting for the image registry: could not look up ${ghcr.registry}/python:v2 (the registry refused the access token)`,
      );
      expect((error as Error).message).not.toContain("tok-");
    }
    // First lookup: no token, 401, token 1, 401. Second: token 1 (cached), 401, token 2, 401.
    expect(ghcr.manifestRequests).toEqual([
      ["", 401],
      ["Bearer tok-1", 401],
      ["Bearer tok-1", 401],
      ["Bearer tok-2", 401],
    ]);
  });

  test.each([
    [500, "the token service answered HTTP 500"],
    [403, "the token service answered HTTP 403"],
  ])("a token service answering %i: unavailable", async (tokenStatus, reason) => {
    const ghcr = await startGhcrStandIn({ tokenStatus });
    const digests = new ImageDigests(options(ghcr.registry));
    await expect(digests.resolve("python:v2")).rejects.toThrow(
      new ImageDigestUnavailableError(`${ghcr.registry}/python:v2`, reason),
    );
  });
});

function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
  const server = createServer(handler);
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

function port(server: Server): number {
  return (server.address() as AddressInfo).port;
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}
