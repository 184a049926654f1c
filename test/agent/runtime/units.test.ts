import { describe, expect, it } from "vitest";
import { socketPathFromDockerHost } from "../../../src/agent/runtime/docker.js";
import {
  containerState,
  cpuPercent,
  createOptions,
  listedJob,
  memoryUsage,
  parseDockerTimestampNs,
  pullEventError,
} from "../../../src/agent/runtime/docker-api.js";
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

describe("Docker answers with parts missing (a container removed between two calls)", () => {
  it("reads stats without cpu_usage, precpu_stats or memory_stats as no usage, never throwing", () => {
    // What the daemon answered for a container removed while its stats were read: `cpu_usage` undefined.
    const partials = [{}, { cpu_stats: {} }, { cpu_stats: { system_cpu_usage: 5 } }, { memory_stats: {} }];
    for (const sample of partials) {
      expect(cpuPercent(sample)).toBe(0);
      expect(memoryUsage(sample)).toBe(0);
    }
    const sample = {
      cpu_stats: { cpu_usage: { total_usage: 300 }, system_cpu_usage: 1000, online_cpus: 2 },
      precpu_stats: { cpu_usage: { total_usage: 100 }, system_cpu_usage: 600 },
      memory_stats: { usage: 1000, stats: { inactive_file: 200 } },
    };
    expect(cpuPercent(sample)).toBe(100);
    expect(memoryUsage(sample)).toBe(800);
    expect(cpuPercent({ ...sample, precpu_stats: undefined })).toBe(60);
  });

  it("reads an inspect document without State, HostConfig or Image as a container in an unknown state", () => {
    expect(containerState({})).toEqual({
      running: false,
      exitCode: null,
      oomKilled: false,
      startedAtNs: null,
      finishedAtNs: null,
      imageId: null,
      memoryLimitBytes: 0,
      metadata: {},
    });
    expect(containerState({ State: { Running: true, ExitCode: 0 } })).toMatchObject({
      running: true,
      exitCode: null,
    });
    expect(containerState({ State: { ExitCode: 3 }, HostConfig: {} })).toMatchObject({ exitCode: 3 });
  });

  it("skips a listed container without names or id", () => {
    expect(listedJob({}, "os-job-")).toBeNull();
    expect(listedJob({ Names: ["/os-job-a"] }, "os-job-")).toBeNull();
    expect(listedJob({ Id: "c1", Names: ["/other"] }, "os-job-")).toBeNull();
    expect(listedJob({ Id: "c1", Names: ["/os-job-a"] }, "os-job-")).toEqual({
      name: "os-job-a",
      id: "c1",
      created: 0,
    });
  });
});

describe("createOptions", () => {
  const spec = {
    image: "python",
    args: [],
    env: {},
    cpuCount: null,
    memoryLimit: null,
    network: { kind: "none" } as const,
    user: null,
  };
  it("sets the pids limit it is given, and none for null", () => {
    expect(createOptions(spec, {}, 4096).HostConfig?.PidsLimit).toBe(4096);
    expect(createOptions(spec, {}, null).HostConfig).not.toHaveProperty("PidsLimit");
  });
});

describe("pullEventError (a line of the daemon's pull progress)", () => {
  it("answers the error an event reports, and null for progress, an empty error or a line that is not JSON", () => {
    expect(pullEventError('{"error":"manifest unknown","errorDetail":{}}')).toBe("manifest unknown");
    expect(pullEventError('{"status":"Downloading","progress":"[==>  ]"}')).toBeNull();
    expect(pullEventError('{"error":""}')).toBeNull();
    expect(pullEventError("{not json")).toBeNull();
    expect(pullEventError("null")).toBeNull();
  });
});
