/**
 * The content digest of `{DOCKER_REGISTRY}/{name}:{tag}` (reference/controller.md §4.6; DESIGN DECISIONS 12): the
 * registry named by DOCKER_REGISTRY is asked, not always ghcr.io. Digests are cached per `name:tag` for a TTL; a
 * failed lookup falls back to the last digest known, however old, and only with none raises, so the scheduler can
 * make the job wait instead of crashing its loop.
 */
import { type BearerChallenge, bearerChallenge } from "./challenge.js";
import { ImageDigestError, ImageDigestUnavailableError, ImageNotFoundError } from "./errors.js";
import { describeFailure, type TimedFetch, timedFetch, UnusableAnswerError } from "./http.js";
import type { ImageDigestOptions, ImageDigestResolver, RegistryLogger } from "./options.js";
import {
  type ImageReference,
  imageName,
  manifestUrl,
  parseImageReference,
  parseRegistry,
  type RegistryLocation,
} from "./reference.js";
import { BearerTokens } from "./tokens.js";

/** The reference's Accept header, character for character: indexes first, so a multi-platform tag gives its index. */
const MANIFEST_ACCEPT =
  "application/vnd.oci.image.index.v1+json,application/vnd.docker.distribution.manifest.list.v2+json,application/vnd.docker.distribution.manifest.v2+json,application/vnd.oci.image.manifest.v1+json";

const DIGEST = /^sha256:[0-9a-f]{64}$/;

interface Known {
  readonly digest: string;
  readonly fetchedAt: number;
}

export class ImageDigests implements ImageDigestResolver {
  readonly #registry: RegistryLocation;
  readonly #request: TimedFetch;
  readonly #tokens: BearerTokens;
  readonly #timeoutMs: number;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #log: RegistryLogger | undefined;
  readonly #onLookup: ImageDigestOptions["onLookup"];
  readonly #known = new Map<string, Known>();
  readonly #pending = new Map<string, Promise<string>>();
  /** The last Bearer challenge seen per repository, so later lookups send a token straight away. */
  readonly #challenges = new Map<string, BearerChallenge>();

  /** Throws InvalidRegistryError for a `registry` that names no registry. */
  constructor(options: Omit<ImageDigestOptions, "enabled">) {
    this.#registry = parseRegistry(options.registry);
    this.#request = timedFetch(options.fetch ?? fetch, options.timeoutMs);
    this.#tokens = new BearerTokens(this.#request);
    this.#timeoutMs = options.timeoutMs;
    this.#ttlMs = options.ttlMs;
    this.#now = options.now ?? Date.now;
    this.#log = options.log;
    this.#onLookup = options.onLookup;
  }

  /** Whether `resolve` would answer from what it knows (or refuse the reference) without asking the registry. */
  known(nameTag: string): boolean {
    let image: ImageReference;
    try {
      image = parseImageReference(nameTag);
    } catch {
      return true;
    }
    return this.#fresh(`${image.name}:${image.tag}`) !== undefined;
  }

  /**
   * Rejects with ImageDigestUnavailableError (registry unreachable, nothing cached), ImageNotFoundError (404,
   * nothing cached) or InvalidImageReferenceError. Concurrent calls for one `name:tag` share one lookup.
   */
  async resolve(nameTag: string): Promise<string> {
    const image = parseImageReference(nameTag);
    const key = `${image.name}:${image.tag}`;
    const fresh = this.#fresh(key);
    if (fresh !== undefined) {
      this.#onLookup?.("hit");
      return fresh;
    }
    this.#onLookup?.("miss");
    let pending = this.#pending.get(key);
    if (!pending) {
      pending = this.#lookupOrKnown(image, key).finally(() => this.#pending.delete(key));
      this.#pending.set(key, pending);
    }
    return pending;
  }

  /** The digest known for `name:tag` within the TTL. */
  #fresh(key: string): string | undefined {
    const known = this.#known.get(key);
    return known && this.#now() - known.fetchedAt < this.#ttlMs ? known.digest : undefined;
  }

  async #lookupOrKnown(image: ImageReference, key: string): Promise<string> {
    try {
      const digest = await this.#lookup(image);
      this.#known.set(key, { digest, fetchedAt: this.#now() });
      return digest;
    } catch (error) {
      const failure =
        error instanceof ImageDigestError
          ? error
          : new ImageDigestUnavailableError(
              imageName(this.#registry, image),
              describeFailure(error, this.#timeoutMs),
              { cause: error },
            );
      const known = this.#known.get(key);
      if (!known) throw failure;
      this.#log?.warn(
        { image: imageName(this.#registry, image), reason: failure.message },
        "image digest lookup failed; using the last digest known",
      );
      return known.digest;
    }
  }

  /** HEAD the manifest; on 401 get a Bearer token (a new one if ours was refused) and try once more. */
  async #lookup(image: ImageReference): Promise<string> {
    const url = manifestUrl(this.#registry, image);
    const repository = url.slice(0, url.lastIndexOf("/manifests/"));
    const known = this.#challenges.get(repository);
    let token = known ? await this.#tokens.get(known) : undefined;
    let response = await this.#head(url, token);
    if (response.status === 401) {
      const challenge = bearerChallenge(response.headers.get("www-authenticate"));
      if (!challenge) {
        throw new UnusableAnswerError("the registry asks for a kind of login this client cannot give");
      }
      this.#challenges.set(repository, challenge);
      token = await this.#tokens.get(challenge, token);
      response = await this.#head(url, token);
      if (response.status === 401) throw new UnusableAnswerError("the registry refused the access token");
    }
    if (response.status === 404) throw new ImageNotFoundError(imageName(this.#registry, image));
    if (!response.ok) throw new UnusableAnswerError(`the registry answered HTTP ${response.status}`);
    const digest = response.headers.get("docker-content-digest");
    if (digest === null || !DIGEST.test(digest)) {
      throw new UnusableAnswerError("the registry's answer had no sha256 Docker-Content-Digest");
    }
    return digest;
  }

  #head(url: string, token: string | undefined): Promise<Response> {
    return this.#request(url, {
      method: "HEAD",
      headers: { accept: MANIFEST_ACCEPT, ...(token !== undefined && { authorization: `Bearer ${token}` }) },
    });
  }
}
