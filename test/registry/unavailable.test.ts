/**
 * A registry that cannot be used: nothing listening, a server that accepts and never answers, and (from a small
 * server on 127.0.0.1 standing in for a registry in trouble, which the real one cannot be made to be) error
 * statuses and answers without a digest. Every one is ImageDigestUnavailableError, whose message a waiting job shows.
 */
import { createServer as createHttpServer, type Server } from "node:http";
import { type AddressInfo, createServer, type Socket } from "node:net";
import { afterEach, describe, expect, test } from "vitest";
import {
  createImageDigests,
  ImageDigests,
  ImageDigestUnavailableError,
  InvalidRegistryError,
  NoImageDigests,
} from "../../src/registry/index.js";
import { manualClock, options, recordingFetch } from "./helpers.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

/** A loopback port nothing listens on: bound, noted, released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Accepts connections and never says a word; counts the connections. */
async function silentServer(): Promise<{ port: number; connections: () => number }> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { port: (server.address() as AddressInfo).port, connections: () => connections };
}

/** Answers every request with `status` and `headers`. */
async function registryAnswering(status: number, headers: Record<string, string> = {}): Promise<number> {
  const server: Server = createHttpServer((_req, res) => res.writeHead(status, headers).end());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return (server.address() as AddressInfo).port;
}

async function unavailable(digests: ImageDigests, nameTag: string): Promise<string> {
  const error = await digests.resolve(nameTag).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ImageDigestUnavailableError);
  expect((error as ImageDigestUnavailableError).code).toBe("IMAGE_DIGEST_UNAVAILABLE");
  return (error as Error).message;
}

describe("a registry that cannot be reached", () => {
  test("nothing listening: connection refused", async () => {
    const port = await closedPort();
    const digests = new ImageDigests(options(`127.0.0.1:${port}/opensafely-core`));
    expect(await unavailable(digests, "python:v2")).toBe(
      `Waiting for the image registry: could not look up 127.0.0.1:${port}/opensafely-core/python:v2 (connection refused)`,
    );
  });

  test("a server that never answers: gives up after the timeout", async () => {
    const silent = await silentServer();
    const digests = new ImageDigests(options(`127.0.0.1:${silent.port}/opensafely-core`, { timeoutMs: 200 }));
    expect(await unavailable(digests, "python:v2")).toBe(
      `Waiting for the image registry: could not look up 127.0.0.1:${silent.port}/opensafely-core/python:v2 (no answer within 0.2 s)`,
    );
    expect(silent.connections()).toBe(1);
  });

  test("concurrent lookups while it hangs make one request and all fail alike", async () => {
    const silent = await silentServer();
    const digests = new ImageDigests(options(`127.0.0.1:${silent.port}/opensafely-core`, { timeoutMs: 200 }));
    const results = await Promise.allSettled([1, 2, 3].map(() => digests.resolve("python:v2")));
    expect(new Set(results.map((r) => r.status === "rejected" && (r.reason as Error).message)).size).toBe(1);
    expect(
      results.every((r) => r.status === "rejected" && r.reason instanceof ImageDigestUnavailableError),
    ).toBe(true);
    expect(silent.connections()).toBe(1);
  });

  test("a cached digest is returned when the registry has stopped answering", async () => {
    const goodPort = await registryAnswering(200, { "docker-content-digest": `sha256:${"c".repeat(64)}` });
    const silent = await silentServer();
    let port = goodPort;
    const clock = manualClock();
    // The same DOCKER_REGISTRY throughout; the fetch is pointed at the silent server once the first lookup is done.
    const redirecting: typeof fetch = (input, init) =>
      fetch(String(input).replace(`:${goodPort}/`, `:${port}/`), init);
    const digests = new ImageDigests(
      options(`127.0.0.1:${goodPort}/opensafely-core`, {
        fetch: redirecting,
        now: clock.now,
        timeoutMs: 200,
      }),
    );
    expect(await digests.resolve("python:v2")).toBe(`sha256:${"c".repeat(64)}`);
    port = silent.port;
    clock.advance(3_600_000);
    expect(await digests.resolve("python:v2")).toBe(`sha256:${"c".repeat(64)}`);
    expect(silent.connections()).toBe(1);
  });
});

describe("a registry in trouble (a stand-in server)", () => {
  test.each([
    [503, {}, "the registry answered HTTP 503"],
    [429, {}, "the registry answered HTTP 429"],
    [200, {}, "the registry's answer had no sha256 Docker-Content-Digest"],
    [
      200,
      { "docker-content-digest": "sha512:abc" },
      "the registry's answer had no sha256 Docker-Content-Digest",
    ],
    [
      200,
      { "docker-content-digest": `sha256:${"A".repeat(64)}` },
      "the registry's answer had no sha256 Docker-Content-Digest",
    ],
    [401, {}, "the registry asks for a kind of login this client cannot give"],
    [
      401,
      { "www-authenticate": 'Basic realm="registry"' },
      "the registry asks for a kind of login this client cannot give",
    ],
  ])("HTTP %i %j: %s", async (status, headers, reason) => {
    const port = await registryAnswering(status, headers);
    const digests = new ImageDigests(options(`127.0.0.1:${port}/opensafely-core`));
    expect(await unavailable(digests, "python:v2")).toBe(
      `Waiting for the image registry: could not look up 127.0.0.1:${port}/opensafely-core/python:v2 (${reason})`,
    );
  });
});

describe("createImageDigests", () => {
  test("RESOLVE_IMAGE_DIGESTS=false: every digest is null and nothing is asked", async () => {
    const { fetch, sent } = recordingFetch();
    const resolver = createImageDigests(options("ghcr.io/opensafely-core", { enabled: false, fetch }));
    expect(resolver).toBeInstanceOf(NoImageDigests);
    expect(await resolver.resolve("python:v2")).toBeNull();
    expect(sent).toEqual([]);
  });

  test("enabled: a resolver for the registry", async () => {
    const port = await registryAnswering(200, { "docker-content-digest": `sha256:${"d".repeat(64)}` });
    const resolver = createImageDigests(options(`127.0.0.1:${port}/opensafely-core`));
    expect(resolver).toBeInstanceOf(ImageDigests);
    expect(await resolver.resolve("python:v2")).toBe(`sha256:${"d".repeat(64)}`);
  });

  test("a DOCKER_REGISTRY that names no registry is refused even when resolution is off", () => {
    expect(() => createImageDigests(options("opensafely-core", { enabled: false }))).toThrow(
      InvalidRegistryError,
    );
  });
});
