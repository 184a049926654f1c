/**
 * Pure parsing for registry lookups: DOCKER_REGISTRY → where to ask, `name:tag` → which manifest. The grammar is
 * Docker's (distribution's reference grammar), so a value rap-runner accepts is one `docker pull` accepts too, and
 * nothing from a run command reaches a URL without matching it.
 */
import { isIPv4, isIPv6 } from "node:net";
import { InvalidImageReferenceError, InvalidRegistryError } from "./errors.js";

export interface RegistryLocation {
  /** `http` only for a loopback host, as Docker treats those as insecure registries by default. */
  readonly scheme: "https" | "http";
  /** Host name or address, with `:port` when given; IPv6 in brackets. */
  readonly host: string;
  /** Repository path under the host (`opensafely-core`), without slashes at either end; may be empty. */
  readonly path: string;
}

export interface ImageReference {
  readonly name: string;
  readonly tag: string;
}

// One path component of a repository name: lower-case alphanumerics, joined by `.`, `_`, `__` or runs of `-`.
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^\w[\w.-]{0,127}$/;
const HOST_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
const HOST_PORT = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d{1,5}))?$/;

/**
 * `ghcr.io/opensafely-core` → https, ghcr.io, opensafely-core. Like Docker, the first part counts as a registry host
 * only if it has a dot or a port or is `localhost` (`opensafely-core/x` would mean Docker Hub, which is not asked
 * this way), so such a value is refused rather than turned into a lookup that cannot work.
 */
export function parseRegistry(dockerRegistry: string): RegistryLocation {
  const value = dockerRegistry.trim().replace(/\/+$/, "");
  const refuse = (detail: string): never => {
    throw new InvalidRegistryError(dockerRegistry, detail);
  };
  if (value === "") refuse("it is empty");
  const slash = value.indexOf("/");
  const host = slash < 0 ? value : value.slice(0, slash);
  const path = slash < 0 ? "" : value.slice(slash + 1);
  const match = HOST_PORT.exec(host);
  const hostname = match?.[1] ?? match?.[2] ?? "";
  const port = match?.[3];
  const bracketed = match?.[1] !== undefined;
  if (!match || (bracketed ? !isIPv6(hostname) : !HOST_NAME.test(hostname))) {
    refuse(`'${host.slice(0, 100)}' is not a host name or address`);
  }
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535))
    refuse(`port ${port} is out of range`);
  if (!bracketed && port === undefined && !hostname.includes(".") && hostname.toLowerCase() !== "localhost") {
    refuse("the first part must be a registry host, with a dot or a port or localhost, like ghcr.io");
  }
  if (path !== "" && !path.split("/").every((part) => COMPONENT.test(part))) {
    refuse("the repository path may hold only lower-case letters, digits and . _ - between slashes");
  }
  return { scheme: isLoopbackHost(hostname) ? "http" : "https", host, path };
}

/** 127.0.0.0/8, `localhost` and `::1` (any spelling; IPv6 given without brackets). */
export function isLoopbackHost(hostname: string): boolean {
  if (hostname.toLowerCase() === "localhost") return true;
  if (isIPv4(hostname)) return hostname.split(".")[0] === "127";
  if (isIPv6(hostname)) return new URL(`http://[${hostname}]`).hostname === "[::1]";
  return false;
}

/** `python:v2` → python, v2. The tag is required: the pipeline always has one, and a guess could pick a wrong image. */
export function parseImageReference(nameTag: string): ImageReference {
  const colon = nameTag.lastIndexOf(":");
  const name = nameTag.slice(0, Math.max(colon, 0));
  const tag = colon < 0 ? "" : nameTag.slice(colon + 1);
  if (!TAG.test(tag) || !name.split("/").every((part) => COMPONENT.test(part))) {
    throw new InvalidImageReferenceError(nameTag);
  }
  return { name, tag };
}

/** The full image name as Docker shows it: `ghcr.io/opensafely-core/python:v2`. */
export function imageName(registry: RegistryLocation, image: ImageReference): string {
  return `${registry.host}/${repository(registry, image)}:${image.tag}`;
}

/** `{scheme}://{host}/v2/{path}/{name}/manifests/{tag}` */
export function manifestUrl(registry: RegistryLocation, image: ImageReference): string {
  return `${registry.scheme}://${registry.host}/v2/${repository(registry, image)}/manifests/${image.tag}`;
}

function repository(registry: RegistryLocation, image: ImageReference): string {
  return registry.path === "" ? image.name : `${registry.path}/${image.name}`;
}
