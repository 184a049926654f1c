import { describe, expect, test } from "vitest";
import { InvalidImageReferenceError, InvalidRegistryError } from "../../src/registry/errors.js";
import {
  imageName,
  isLoopbackHost,
  manifestUrl,
  parseImageReference,
  parseRegistry,
} from "../../src/registry/reference.js";

describe("parseRegistry", () => {
  test.each([
    ["ghcr.io/opensafely-core", "https", "ghcr.io", "opensafely-core"],
    ["ghcr.io/opensafely-core/", "https", "ghcr.io", "opensafely-core"],
    ["registry.example.org:8443/a/b-c", "https", "registry.example.org:8443", "a/b-c"],
    ["registry.example.org", "https", "registry.example.org", ""],
    ["127.0.0.1:5000/opensafely-core", "http", "127.0.0.1:5000", "opensafely-core"],
    ["127.8.9.10:5000/x", "http", "127.8.9.10:5000", "x"],
    ["localhost:5000/opensafely-core", "http", "localhost:5000", "opensafely-core"],
    ["LocalHost/opensafely-core", "http", "LocalHost", "opensafely-core"],
    ["[::1]:5000/opensafely-core", "http", "[::1]:5000", "opensafely-core"],
    ["[0:0:0:0:0:0:0:1]/x", "http", "[0:0:0:0:0:0:0:1]", "x"],
    ["[2001:db8::1]:5000/x", "https", "[2001:db8::1]:5000", "x"],
    ["128.0.0.1:5000/x", "https", "128.0.0.1:5000", "x"],
    ["localhost.example.org/x", "https", "localhost.example.org", "x"],
    ["registry:5000", "https", "registry:5000", ""],
  ])("%s → %s://%s path '%s'", (value, scheme, host, path) => {
    expect(parseRegistry(value)).toEqual({ scheme, host, path });
  });

  test.each([
    ["", "it is empty"],
    [
      "opensafely-core",
      "the first part must be a registry host, with a dot or a port or localhost, like ghcr.io",
    ],
    ["opensafely-core/python", "the first part must be a registry host"],
    ["https://ghcr.io/opensafely-core", "'https:' is not a host name or address"],
    ["user@ghcr.io/x", "'user@ghcr.io' is not a host name or address"],
    ["[::g]:5000/x", "'[::g]:5000' is not a host name or address"],
    ["ghcr.io:0/x", "port 0 is out of range"],
    ["ghcr.io:70000/x", "port 70000 is out of range"],
    ["ghcr.io/OpenSafely", "the repository path may hold only"],
    ["ghcr.io/a//b", "the repository path may hold only"],
    ["ghcr.io/../x", "the repository path may hold only"],
    ["ghcr.io/x?y", "the repository path may hold only"],
  ])("refuses '%s'", (value, detail) => {
    const error = catchError(() => parseRegistry(value));
    expect(error).toBeInstanceOf(InvalidRegistryError);
    expect((error as InvalidRegistryError).code).toBe("REGISTRY_INVALID");
    expect((error as InvalidRegistryError).detail).toContain(detail);
    expect((error as Error).message).toBe(
      `Invalid image registry '${value}': ${(error as InvalidRegistryError).detail}`,
    );
  });
});

describe("isLoopbackHost", () => {
  test.each([
    ["localhost", true],
    ["LOCALHOST", true],
    ["127.0.0.1", true],
    ["127.255.255.254", true],
    ["::1", true],
    ["0:0:0:0:0:0:0:1", true],
    ["128.0.0.1", false],
    ["10.0.0.1", false],
    ["::2", false],
    ["ghcr.io", false],
    ["127.0.0.1.example.org", false],
    ["localhost.example.org", false],
  ])("%s → %s", (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});

describe("parseImageReference", () => {
  test.each([
    ["python:v2", "python", "v2"],
    ["stata-mp:latest", "stata-mp", "latest"],
    ["tpp-database-utils:latest", "tpp-database-utils", "latest"],
    ["ehrql:v1.2-pre", "ehrql", "v1.2-pre"],
    ["tools/python:dev", "tools/python", "dev"],
  ])("%s", (nameTag, name, tag) => {
    expect(parseImageReference(nameTag)).toEqual({ name, tag });
  });

  test.each([
    "python",
    "python:",
    ":v2",
    "Python:v2",
    "python:-v2",
    "../python:v2",
    "py thon:v2",
    "python:v2/x",
    "a:b:c",
  ])("refuses %s", (nameTag) => {
    const error = catchError(() => parseImageReference(nameTag));
    expect(error).toBeInstanceOf(InvalidImageReferenceError);
    expect((error as InvalidImageReferenceError).code).toBe("IMAGE_REFERENCE_INVALID");
    expect((error as Error).message).toBe(
      `Image '${nameTag}' is not a valid image name and tag (like python:v2)`,
    );
  });
});

describe("manifestUrl and imageName", () => {
  const python = { name: "python", tag: "v2" };

  test("ghcr.io with the organisation as path", () => {
    const registry = parseRegistry("ghcr.io/opensafely-core");
    expect(manifestUrl(registry, python)).toBe("https://ghcr.io/v2/opensafely-core/python/manifests/v2");
    expect(imageName(registry, python)).toBe("ghcr.io/opensafely-core/python:v2");
  });

  test("a loopback registry with a port, over http", () => {
    const registry = parseRegistry("127.0.0.1:5000/opensafely-core");
    expect(manifestUrl(registry, python)).toBe(
      "http://127.0.0.1:5000/v2/opensafely-core/python/manifests/v2",
    );
    expect(imageName(registry, python)).toBe("127.0.0.1:5000/opensafely-core/python:v2");
  });

  test("a registry without a path", () => {
    const registry = parseRegistry("[::1]:5000");
    expect(manifestUrl(registry, python)).toBe("http://[::1]:5000/v2/python/manifests/v2");
    expect(imageName(registry, python)).toBe("[::1]:5000/python:v2");
  });
});

function catchError(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error");
}
