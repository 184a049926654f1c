/**
 * The Docker Engine API documents the Docker runtime sends and reads, as pure functions: the create request that
 * matches the reference's `docker run` line, and readings of what the daemon answers (inspect states, timestamps,
 * multiplexed logs, stats).
 */
import type Docker from "dockerode";
import { parseMemoryLimit } from "./memory.js";
import type { ContainerSpec, ContainerState } from "./types.js";

/** RFC 5737 TEST-NET-1: Docker's embedded DNS forwards here and gets nothing, so job code cannot resolve names. */
export const BLACKHOLE_DNS = "192.0.2.0";

/**
 * What the runtime reads of Docker's answers, every field optional: a container that goes away between two calls
 * (or a daemon of another version) answers with parts missing, and a missing part must never throw.
 */
export interface InspectDocument {
  Image?: string;
  State?: {
    Status?: string;
    Error?: string;
    Running?: boolean;
    Paused?: boolean;
    Restarting?: boolean;
    ExitCode?: number;
    OOMKilled?: boolean;
    StartedAt?: string;
    FinishedAt?: string;
  };
  HostConfig?: { Memory?: number };
}

interface CpuStats {
  cpu_usage?: { total_usage?: number; percpu_usage?: number[] };
  system_cpu_usage?: number;
  online_cpus?: number;
}

export interface StatsDocument {
  cpu_stats?: CpuStats;
  precpu_stats?: CpuStats;
  memory_stats?: { usage?: number; stats?: Partial<Record<string, number>> };
}

export interface ListedContainer {
  Id?: string;
  Names?: string[];
  Created?: number;
}

export function neverStarted(info: InspectDocument): boolean {
  return info.State?.Status === "created" && !info.State.Error;
}

/** The state of a container that has started, from its inspect document; a missing field reads as unknown. */
export function containerState(info: InspectDocument): ContainerState {
  const state = info.State ?? {};
  const running = Boolean(state.Running || state.Paused || state.Restarting);
  const startedAtNs = parseDockerTimestampNs(state.StartedAt);
  const finishedAtNs = running ? null : parseDockerTimestampNs(state.FinishedAt);
  return {
    running,
    exitCode: running || typeof state.ExitCode !== "number" ? null : state.ExitCode,
    oomKilled: state.OOMKilled === true,
    startedAtNs,
    // Docker can stamp a very short container's end a little before its start; a job never ends before it began.
    finishedAtNs:
      finishedAtNs !== null && startedAtNs !== null ? Math.max(finishedAtNs, startedAtNs) : finishedAtNs,
    imageId: info.Image || null,
    memoryLimitBytes: finiteOr(info.HostConfig?.Memory, 0),
    metadata: info as Record<string, unknown>,
  };
}

/** The job container's name (without Docker's leading `/`) and id of a listed container, or null. */
export function listedJob(
  entry: ListedContainer,
  prefix: string,
): { name: string; id: string; created: number } | null {
  const name = (entry.Names ?? []).map((n) => n.replace(/^\//, "")).find((n) => n.startsWith(prefix));
  if (!name || !entry.Id) return null;
  return { name, id: entry.Id, created: finiteOr(entry.Created, 0) };
}

export type CreateSpec = Omit<ContainerSpec, "volumeDir" | "name" | "labels"> & { volumeDir?: string };

/** The create request equivalent to the reference's `docker run` flags (reference/agent.md §3.4). */
export function createOptions(
  spec: CreateSpec,
  labels: Record<string, string>,
  pidsLimit: number | null,
): Docker.ContainerCreateOptions {
  const hostConfig: Docker.HostConfig = {
    Init: true,
    LogConfig: { Type: "local", Config: { "max-file": "200", "max-size": "20m", compress: "true" } },
    CapDrop: ["ALL"],
    SecurityOpt: ["no-new-privileges"],
    NetworkMode: "default",
  };
  // A fork bomb stops at the limit instead of exhausting the host's process table.
  if (pidsLimit !== null) hostConfig.PidsLimit = pidsLimit;
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
export function cpuPercent(sample: StatsDocument): number {
  const cpu = sample.cpu_stats;
  const previous = sample.precpu_stats;
  const cpuDelta = finiteOr(cpu?.cpu_usage?.total_usage, 0) - finiteOr(previous?.cpu_usage?.total_usage, 0);
  const systemDelta = finiteOr(cpu?.system_cpu_usage, 0) - finiteOr(previous?.system_cpu_usage, 0);
  const cpus = finiteOr(cpu?.online_cpus, 0) || cpu?.cpu_usage?.percpu_usage?.length || 1;
  if (cpuDelta <= 0 || systemDelta <= 0) return 0;
  return (cpuDelta / systemDelta) * cpus * 100;
}

/** Memory in use without the page cache that can be dropped, as `docker stats` shows it (cgroup v1 and v2). */
export function memoryUsage(sample: StatsDocument): number {
  const memory = sample.memory_stats;
  const usage = finiteOr(memory?.usage, 0);
  const stats = memory?.stats ?? {};
  const inactive = finiteOr(stats.total_inactive_file ?? stats.inactive_file, 0);
  return inactive < usage ? usage - inactive : usage;
}

/** `value` when it is a finite number, else the fallback (a field missing or of another type). */
function finiteOr(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) ? value : fallback;
}

/** The error a line of the daemon's pull progress (one JSON object) reports, or null (none, or not JSON). */
export function pullEventError(line: string): string | null {
  try {
    const event = JSON.parse(line) as unknown;
    const error =
      typeof event === "object" && event !== null ? (event as { error?: unknown }).error : undefined;
    return typeof error === "string" && error !== "" ? error : null;
  } catch {
    return null;
  }
}
