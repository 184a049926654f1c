/**
 * Docker image references as jobs name them (`ghcr.io/opensafely-core/python:v2`, `…/python@sha256:…`), split the
 * way Docker does: a registry host may carry a port (`127.0.0.1:5000/…`), so a tag is only the part after the last
 * `:` when no `/` follows it.
 */
import { ImageUnavailableError } from "./types.js";

export interface ImageRef {
  /** Everything before the tag or digest: `ghcr.io/opensafely-core/python`. */
  repository: string;
  tag: string | null;
  digest: string | null;
}

export function parseImageRef(reference: string): ImageRef {
  const at = reference.indexOf("@");
  const digest = at >= 0 ? reference.slice(at + 1) : null;
  const named = at >= 0 ? reference.slice(0, at) : reference;
  const colon = named.lastIndexOf(":");
  if (colon >= 0 && !named.slice(colon + 1).includes("/")) {
    return { repository: named.slice(0, colon), tag: named.slice(colon + 1), digest };
  }
  return { repository: named, tag: null, digest };
}

/** The image's own name without registry, path or tag: `ghcr.io/opensafely-core/python:v2` → `python`. */
export function imageShortName(reference: string): string {
  const { repository } = parseImageRef(reference);
  return repository.slice(repository.lastIndexOf("/") + 1);
}

/**
 * `ghcr.io/opensafely-core/ehrql:v1` → `{proxy}/ehrql` (the reference's prefix replacement): where an image of
 * `registry` is pulled from. Throws ImageUnavailableError for an image of any other registry.
 */
export function proxyRepository(image: string, registry: string, proxy: string): string {
  const { repository } = parseImageRef(image);
  if (!repository.startsWith(`${registry}/`)) {
    throw new ImageUnavailableError(
      `Docker image ${image} is not available on this backend: only images from ${registry} can be pulled`,
    );
  }
  return proxy + repository.slice(registry.length);
}
