/**
 * Docker image references as jobs name them (`ghcr.io/opensafely-core/python:v2`, `…/python@sha256:…`), split the
 * way Docker does: a registry host may carry a port (`127.0.0.1:5000/…`), so a tag is only the part after the last
 * `:` when no `/` follows it.
 */
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
