/** One resolver interface for callers, whether RESOLVE_IMAGE_DIGESTS is on or off. */
import { ImageDigests } from "./digests.js";
import type { ImageDigestOptions, ImageDigestResolver } from "./options.js";

/** RESOLVE_IMAGE_DIGESTS=false: `image_sha` stays null and the agent runs whatever the tag names locally. */
export class NoImageDigests implements ImageDigestResolver {
  async resolve(_nameTag: string): Promise<null> {
    return null;
  }

  known(_nameTag: string): boolean {
    return true;
  }
}

/** Throws InvalidRegistryError for a DOCKER_REGISTRY that names no registry, even when resolution is off. */
export function createImageDigests(options: ImageDigestOptions): ImageDigestResolver {
  const resolver = new ImageDigests(options);
  return options.enabled ? resolver : new NoImageDigests();
}
