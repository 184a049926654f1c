/**
 * Digest lookups against a real registry: Debian's docker-registry (the CNCF distribution registry) on 127.0.0.1,
 * images pushed through the OCI distribution API. Plain http, as for any loopback registry.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  ImageDigests,
  ImageDigestUnavailableError,
  ImageNotFoundError,
  InvalidImageReferenceError,
} from "../../src/registry/index.js";
import {
  type LocalRegistry,
  type PushedImage,
  pushImage,
  putManifest,
  startRegistry,
  tarLayer,
} from "../support/registry.js";
import { registryBinaryRequirement, requires } from "../support/requirements.js";
import { manualClock, options, recordingFetch, recordingLog, TTL_MS } from "./helpers.js";

const ACCEPT =
  "application/vnd.oci.image.index.v1+json,application/vnd.docker.distribution.manifest.list.v2+json,application/vnd.docker.distribution.manifest.v2+json,application/vnd.oci.image.manifest.v1+json";

const ok = requires(registryBinaryRequirement());

function push(registry: LocalRegistry, repository: string, tag: string, text: string): Promise<PushedImage> {
  return tarLayer({ "hello.txt": text }).then((layer) =>
    pushImage(registry.url, repository, tag, { layers: [layer] }),
  );
}

describe.skipIf(!ok)("a running registry", () => {
  let registry: LocalRegistry;
  let python: PushedImage;

  beforeAll(async () => {
    registry = await startRegistry();
    python = await push(registry, "opensafely-core/python", "v2", "python v2");
  });

  afterAll(async () => {
    await registry?.stop();
  });

  test("resolve gives the digest of the manifest bytes, asked with one HEAD over plain http", async () => {
    const { fetch, sent } = recordingFetch();
    const digests = new ImageDigests(options(`${registry.host}/opensafely-core`, { fetch }));
    expect(python.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await digests.resolve("python:v2")).toBe(python.digest);
    expect(sent).toEqual([
      {
        method: "HEAD",
        url: `http://${registry.host}/v2/opensafely-core/python/manifests/v2`,
        headers: { accept: ACCEPT },
      },
    ]);
  });

  test("a registry given without a repository path", async () => {
    const root = await push(registry, "r", "latest", "r at the root");
    const digests = new ImageDigests(options(registry.host));
    expect(await digests.resolve("r:latest")).toBe(root.digest);
  });

  test("a multi-platform tag resolves to its index, as the Accept header puts indexes first", async () => {
    const amd64 = await push(registry, "opensafely-core/ehrql", "amd64-only", "ehrql");
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: amd64.digest,
          size: Buffer.byteLength(amd64.manifest),
          platform: { architecture: "amd64", os: "linux" },
        },
      ],
    });
    const indexDigest = await putManifest(
      registry.url,
      "opensafely-core/ehrql",
      "v1",
      "application/vnd.oci.image.index.v1+json",
      index,
    );
    const digests = new ImageDigests(options(`${registry.host}/opensafely-core`));
    expect(await digests.resolve("ehrql:v1")).toBe(indexDigest);
    expect(indexDigest).not.toBe(amd64.digest);
  });

  test.each([
    ["python:v9", "a tag that was never pushed"],
    ["nosuchimage:v2", "an image that does not exist"],
  ])("%s (%s) is ImageNotFoundError", async (nameTag) => {
    const digests = new ImageDigests(options(`${registry.host}/opensafely-core`));
    const error = await digests.resolve(nameTag).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageNotFoundError);
    expect((error as ImageNotFoundError).code).toBe("IMAGE_NOT_FOUND");
    expect((error as Error).message).toBe(
      `Image ${registry.host}/opensafely-core/${nameTag} was not found in the registry (no such image or version)`,
    );
  });

  test("an invalid name is refused without a request", async () => {
    const { fetch, sent } = recordingFetch();
    const digests = new ImageDigests(options(`${registry.host}/opensafely-core`, { fetch }));
    await expect(digests.resolve("../python:v2")).rejects.toBeInstanceOf(InvalidImageReferenceError);
    expect(sent).toEqual([]);
  });

  test("a digest is reused within the TTL; a re-pushed tag is seen once it has passed", async () => {
    const first = await push(registry, "opensafely-core/r", "v1", "first");
    const clock = manualClock();
    const { fetch, sent } = recordingFetch();
    // What the metrics count: a hit when the cache answered, a miss when the registry was asked.
    const lookups: string[] = [];
    const digests = new ImageDigests(
      options(`${registry.host}/opensafely-core`, {
        fetch,
        now: clock.now,
        onLookup: (result) => lookups.push(result),
      }),
    );
    expect(await digests.resolve("r:v1")).toBe(first.digest);

    const second = await push(registry, "opensafely-core/r", "v1", "second");
    expect(second.digest).not.toBe(first.digest);
    clock.advance(TTL_MS - 1);
    expect(await digests.resolve("r:v1")).toBe(first.digest);
    expect(sent).toHaveLength(1);

    clock.advance(1);
    expect(await digests.resolve("r:v1")).toBe(second.digest);
    expect(sent).toHaveLength(2);
    expect(lookups).toEqual(["miss", "hit", "miss"]);
  });

  test("concurrent resolves of one name:tag share one request", async () => {
    const { fetch, sent } = recordingFetch();
    const digests = new ImageDigests(options(`${registry.host}/opensafely-core`, { fetch }));
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => digests.resolve("python:v2")));
    expect(results).toEqual(Array(5).fill(python.digest));
    expect(sent).toHaveLength(1);
  });
});

describe.skipIf(!ok)("a registry that goes away", () => {
  test("the last digest known is used, however old; an image never looked up is unavailable", async () => {
    const registry = await startRegistry();
    let stopped = false;
    try {
      const python = await push(registry, "opensafely-core/python", "v2", "python");
      const clock = manualClock();
      const log = recordingLog();
      const digests = new ImageDigests(
        options(`${registry.host}/opensafely-core`, { now: clock.now, log, timeoutMs: 2000 }),
      );
      expect(await digests.resolve("python:v2")).toBe(python.digest);

      await registry.stop();
      stopped = true;
      clock.advance(10 * TTL_MS);
      expect(await digests.resolve("python:v2")).toBe(python.digest);
      const failure = `Waiting for the image registry: could not look up ${registry.host}/opensafely-core/python:v2 (connection refused)`;
      expect(log.warnings).toEqual([
        [
          { image: `${registry.host}/opensafely-core/python:v2`, reason: failure },
          "image digest lookup failed; using the last digest known",
        ],
      ]);

      const error = await digests.resolve("r:v1").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ImageDigestUnavailableError);
      expect((error as Error).message).toBe(
        `Waiting for the image registry: could not look up ${registry.host}/opensafely-core/r:v1 (connection refused)`,
      );
    } finally {
      if (!stopped) await registry.stop();
    }
  });
});
