/**
 * Why an image digest could not be had. The scheduler branches on the class (or `code`): an unavailable registry
 * makes a job wait with the message as its status message; the others are a problem with the image itself. Messages
 * are shown to researchers and operators, so they name the image and never carry a token.
 *
 *   ImageDigestError ─┬─ ImageDigestUnavailableError   (network, timeout, registry or token service failing)
 *                     ├─ ImageNotFoundError            (404: no such image or tag)
 *                     └─ InvalidImageReferenceError    (not `name:tag`; never sent to the registry)
 *   InvalidRegistryError                               (a DOCKER_REGISTRY value that names no registry)
 */

export class ImageDigestError extends Error {
  readonly code: string = "IMAGE_DIGEST_ERROR";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ImageDigestError";
  }
}

/** The registry (or its token service) could not be asked or gave no usable answer; worth trying again later. */
export class ImageDigestUnavailableError extends ImageDigestError {
  override readonly code = "IMAGE_DIGEST_UNAVAILABLE";
  constructor(
    readonly image: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`Waiting for the image registry: could not look up ${image} (${reason})`, options);
    this.name = "ImageDigestUnavailableError";
  }
}

/** The registry answered 404: the image or that tag of it does not exist. */
export class ImageNotFoundError extends ImageDigestError {
  override readonly code = "IMAGE_NOT_FOUND";
  constructor(readonly image: string) {
    super(`Image ${image} was not found in the registry (no such image or version)`);
    this.name = "ImageNotFoundError";
  }
}

/** Not `name:tag` with a name and tag Docker accepts; refused before any request is built from it. */
export class InvalidImageReferenceError extends ImageDigestError {
  override readonly code = "IMAGE_REFERENCE_INVALID";
  constructor(nameTag: string) {
    super(`Image '${nameTag.slice(0, 100)}' is not a valid image name and tag (like python:v2)`);
    this.name = "InvalidImageReferenceError";
  }
}

/** A DOCKER_REGISTRY value that is not a registry host with an optional repository path. */
export class InvalidRegistryError extends Error {
  readonly code = "REGISTRY_INVALID";
  constructor(
    readonly value: string,
    readonly detail: string,
  ) {
    super(`Invalid image registry '${value.slice(0, 100)}': ${detail}`);
    this.name = "InvalidRegistryError";
  }
}
