import { describe, expect, it } from "vitest";
import { socketPathFromDockerHost } from "../../../src/agent/runtime/docker.js";
import { demultiplex, parseDockerTimestampNs } from "../../../src/agent/runtime/docker-api.js";
import { imageShortName, parseImageRef } from "../../../src/agent/runtime/image-ref.js";
import { createRuntime, detectRuntime } from "../../../src/agent/runtime/index.js";
import { parseMemoryLimit } from "../../../src/agent/runtime/memory.js";
import { withTimeout } from "../../../src/agent/runtime/timeout.js";
import { RuntimeError, RuntimeTimeoutError } from "../../../src/agent/runtime/types.js";

describe("parseMemoryLimit (Docker's --memory syntax)", () => {
  it.each([
    ["4G", 4 * 1024 ** 3],
    ["1G", 2 ** 30],
    ["512m", 512 * 1024 ** 2],
    ["6M", 6 * 1024 ** 2],
    ["1.5g", 1.5 * 1024 ** 3],
    ["100kb", 100 * 1024],
    ["2GiB", 2 * 1024 ** 3],
    ["1000", 1000],
    ["10b", 10],
    ["1 t", 1024 ** 4],
  ])("%s is %d bytes", (text, bytes) => {
    expect(parseMemoryLimit(text)).toBe(bytes);
  });

  it.each(["", "G", "-1g", "4x", "1.g", "4GB extra"])("refuses %j", (text) => {
    expect(() => parseMemoryLimit(text)).toThrow(RuntimeError);
  });
});

describe("parseDockerTimestampNs", () => {
  const base = Date.parse("2026-11-30T00:30:13Z") * 1e6;
  it.each([
    ["2026-11-30T00:30:13.830903471Z", 830_903_471],
    ["2026-11-30T00:30:13.8309034Z", 830_903_400],
    ["2026-11-30T00:30:13.83090347Z", 830_903_470],
    ["2026-11-30T00:30:13.5Z", 500_000_000],
    ["2026-11-30T00:30:13Z", 0],
    ["2026-11-30T01:30:13.25+01:00", 250_000_000],
  ])("parses %s (7- and 8-digit fractions too)", (text, fraction) => {
    expect(parseDockerTimestampNs(text)).toBe(base + fraction);
  });

  it.each(["0001-01-01T00:00:00Z", "", "yesterday", "2026-11-30 00:30:13Z", undefined])(
    "answers null for %j",
    (text) => {
      expect(parseDockerTimestampNs(text)).toBeNull();
    },
  );
});

describe("demultiplex", () => {
  const frame = (stream: number, text: string) => {
    const payload = Buffer.from(text);
    const header = Buffer.alloc(8);
    header.writeUInt8(stream, 0);
    header.writeUInt32BE(payload.length, 4);
    return Buffer.concat([header, payload]);
  };

  it("splits frames in order, keeping which stream each came from", () => {
    const raw = Buffer.concat([frame(1, "out 1\n"), frame(2, "err é\n"), frame(1, "out 2\n")]);
    expect(demultiplex(raw).map((f) => [f.stream, f.data.toString()])).toEqual([
      [1, "out 1\n"],
      [2, "err é\n"],
      [1, "out 2\n"],
    ]);
  });

  it("keeps what arrived of a truncated last frame and ignores a partial header", () => {
    const raw = Buffer.concat([frame(1, "whole\n"), frame(2, "cut short").subarray(0, 12)]);
    expect(demultiplex(raw).map((f) => f.data.toString())).toEqual(["whole\n", "cut "]);
    expect(demultiplex(frame(1, "x").subarray(0, 5))).toEqual([]);
  });
});

describe("image references", () => {
  it.each([
    ["ghcr.io/opensafely-core/python:v2", "ghcr.io/opensafely-core/python", "v2", null, "python"],
    [
      "ghcr.io/opensafely-core/ehrql:v1@sha256:ab",
      "ghcr.io/opensafely-core/ehrql",
      "v1",
      "sha256:ab",
      "ehrql",
    ],
    [
      "127.0.0.1:5000/opensafely-core/r@sha256:cd",
      "127.0.0.1:5000/opensafely-core/r",
      null,
      "sha256:cd",
      "r",
    ],
    ["127.0.0.1:5000/opensafely-core/r", "127.0.0.1:5000/opensafely-core/r", null, null, "r"],
    ["python", "python", null, null, "python"],
  ])("%s", (reference, repository, tag, digest, short) => {
    expect(parseImageRef(reference)).toEqual({ repository, tag, digest });
    expect(imageShortName(reference)).toBe(short);
  });
});

describe("socketPathFromDockerHost", () => {
  it("defaults to /var/run/docker.sock and reads unix:// hosts", () => {
    expect(socketPathFromDockerHost(undefined)).toBe("/var/run/docker.sock");
    expect(socketPathFromDockerHost("unix:///run/user/1000/docker.sock")).toBe("/run/user/1000/docker.sock");
    expect(() => socketPathFromDockerHost("tcp://10.0.0.1:2375")).toThrow(
      "DOCKER_HOST tcp://10.0.0.1:2375 is not supported: only unix:// sockets are",
    );
  });
});

describe("createRuntime and detectRuntime", () => {
  it("builds the runtime named, and finds no engine on a socket nobody serves", async () => {
    expect(createRuntime("docker").kind).toBe("docker");
    expect(createRuntime("local", { local: { stateDir: "/tmp/unused" } }).kind).toBe("local");
    expect(() => createRuntime("local")).toThrow("the local runtime needs its options (at least stateDir)");
    expect(await detectRuntime({ socketPath: "/nonexistent/docker.sock" })).toBe("local");
  });
});

describe("withTimeout (both runtimes' call timeout)", () => {
  it("answers the work's result, or aborts its signal and rejects with RuntimeTimeoutError worded for the runtime", async () => {
    expect(await withTimeout("docker", "pinging", 1000, async () => 42)).toBe(42);
    let seen: AbortSignal | undefined;
    const never = (signal: AbortSignal) => {
      seen = signal;
      return new Promise<never>(() => {});
    };
    const error = await withTimeout("local runtime", "starting os-job-x", 20, never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RuntimeTimeoutError);
    expect((error as Error).message).toBe("local runtime timed out after 0.02s starting os-job-x");
    expect(seen?.aborted).toBe(true);
  });
});
