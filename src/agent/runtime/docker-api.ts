/**
 * The Docker Engine API documents the Docker runtime sends and reads, as pure functions: the create request that
 * matches the reference's `docker run` line, and readings of what the daemon answers (inspect states, timestamps,
 * multiplexed logs, stats).
 */
import type Docker from "dockerode";
import { parseMemoryLimit } from "./memory.js";
import type { ContainerSpec } from "./types.js";

/** RFC 5737 TEST-NET-1: Docker's embedded DNS forwards here and gets nothing, so job code cannot resolve names. */
const BLACKHOLE_DNS = "192.0.2.0";

export function neverStarted(info: Docker.ContainerInspectInfo): boolean {
  return info.State.Status === "created" && !info.State.Error;
}

export type CreateSpec = Omit<ContainerSpec, "volumeDir" | "name" | "labels"> & { volumeDir?: string };

/** The create request equivalent to the reference's `docker run` flags (reference/agent.md §3.4). */
export function createOptions(
  spec: CreateSpec,
  labels: Record<string, string>,
): Docker.ContainerCreateOptions {
  const hostConfig: Docker.HostConfig = {
    Init: true,
    LogConfig: { Type: "local", Config: { "max-file": "200", "max-size": "20m", compress: "true" } },
    CapDrop: ["ALL"],
    SecurityOpt: ["no-new-privileges"],
    NetworkMode: "default",
  };
  if (spec.cpuCount !== null) hostConfig.NanoCpus = Math.round(spec.cpuCount * 1e9);
  if (spec.memoryLimit !== null) hostConfig.Memory = parseMemoryLimit(spec.memoryLimit);
  if (spec.volumeDir !== undefined) {
    hostConfig.Mounts = [{ Type: "bind", Source: spec.volumeDir, Target: "/workspace" }];
  }
  const network = spec.network;
  if (network.kind === "none") hostConfig.NetworkMode = "none";
  if (network.kind === "database") {
    hostConfig.NetworkMode = network.network;
    hostConfig.Dns = [BLACKHOLE_DNS];
    hostConfig.ExtraHosts = network.extraHosts.map(({ host, ip }) => `${host}:${ip}`);
  }
  const options: Docker.ContainerCreateOptions = {
    Image: spec.image,
    Cmd: [...spec.args],
    Env: ["HOME=/tmp", ...Object.entries(spec.env).map(([key, value]) => `${key}=${value}`)],
    Labels: labels,
    HostConfig: hostConfig,
  };
  if (spec.volumeDir !== undefined) options.WorkingDir = "/workspace";
  if (spec.user !== null) options.User = spec.user;
  return options;
}

export interface LogFrame {
  /** 1 stdout, 2 stderr (0 stdin never occurs in logs). */
  stream: number;
  data: Buffer;
}

/**
 * Splits Docker's multiplexed stream (a container without a TTY): frames of an 8-byte header — stream type, three
 * zero bytes, big-endian payload length — and the payload, in the order the daemon recorded them. A truncated last
 * frame keeps what arrived.
 */
export function demultiplex(raw: Buffer): LogFrame[] {
  const frames: LogFrame[] = [];
  let offset = 0;
  while (offset + 8 <= raw.length) {
    const stream = raw.readUInt8(offset);
    const length = raw.readUInt32BE(offset + 4);
    const start = offset + 8;
    frames.push({ stream, data: raw.subarray(start, Math.min(start + length, raw.length)) });
    offset = start + length;
  }
  return frames;
}

/**
 * Unix nanoseconds of a Docker timestamp (RFC 3339 with 0–9 fraction digits, `Z` or an offset), or null for the
 * zero time Docker reports for "never" (`0001-01-01T00:00:00Z`) and anything unparseable. The reference's parser
 * fails on 7- and 8-digit fractions (§3.13); this one does not. Precision is that of a double (~0.25 µs today).
 */
export function parseDockerTimestampNs(text: string | undefined): number | null {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(text ?? "");
  if (!match) return null;
  const seconds = Date.parse(`${match[1]}${match[3]}`);
  if (Number.isNaN(seconds) || seconds <= 0) return null;
  const fraction = Number((match[2] ?? "").padEnd(9, "0"));
  return seconds * 1e6 + fraction;
}

/** CPU share as `docker stats` computes it: the container's CPU time over the host's, times the CPUs (100 = one). */
export function cpuPercent(sample: Docker.ContainerStats): number {
  const cpu = sample.cpu_stats;
  const previous = sample.precpu_stats;
  const cpuDelta = cpu.cpu_usage.total_usage - (previous?.cpu_usage?.total_usage ?? 0);
  const systemDelta = (cpu.system_cpu_usage ?? 0) - (previous?.system_cpu_usage ?? 0);
  const cpus = cpu.online_cpus || cpu.cpu_usage.percpu_usage?.length || 1;
  if (cpuDelta <= 0 || systemDelta <= 0) return 0;
  return (cpuDelta / systemDelta) * cpus * 100;
}

/** Memory in use without the page cache that can be dropped, as `docker stats` shows it (cgroup v1 and v2). */
export function memoryUsage(sample: Docker.ContainerStats): number {
  const memory = sample.memory_stats;
  const usage = memory.usage ?? 0;
  const stats = (memory.stats ?? {}) as Partial<Record<string, number>>;
  const inactive = stats.total_inactive_file ?? stats.inactive_file ?? 0;
  return inactive < usage ? usage - inactive : usage;
}
