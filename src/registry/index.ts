/**
 * Docker image digests for task definitions' `image_sha`, looked up in the registry DOCKER_REGISTRY names. See
 * docs/operations.md, "Image digests".
 */

export { createImageDigests, NoImageDigests } from "./create.js";
export { ImageDigests } from "./digests.js";
export {
  ImageDigestError,
  ImageDigestUnavailableError,
  ImageNotFoundError,
  InvalidImageReferenceError,
  InvalidRegistryError,
} from "./errors.js";
export {
  DEFAULT_IMAGE_DIGEST_TIMEOUT_MS,
  DEFAULT_IMAGE_DIGEST_TTL_MS,
  type ImageDigestOptions,
  type ImageDigestResolver,
  type RegistryLogger,
} from "./options.js";
export { parseRegistry, type RegistryLocation } from "./reference.js";
