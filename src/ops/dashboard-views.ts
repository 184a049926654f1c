/**
 * What the operator dashboard shows, shaped from storage reads (pure): backends with their flags, the queue and the
 * running jobs per backend, recent RAPs, and a RAP's jobs as a graph (the edges are the jobs' `wait_for_job_ids`, the
 * needs: of their actions as planned at create). Times are ISO text; durations whole seconds. No job output here.
 */
import { Flag, type FlagValue, isPausedValue } from "../domain/flags.js";
import type { Job } from "../domain/job.js";
import { isoOrNullFromUnixSeconds } from "../python/datetime.js";

export interface BackendView {
  name: string;
  paused: boolean;
  mode: string | null;
  last_seen_at: string | null;
  /** Every flag the backend has, by name. */
  flags: Record<string, string | null>;
  running: number;
  queued: number;
}

export function backendViews(
  backends: readonly string[],
  flags: readonly FlagValue[],
  active: readonly Job[],
): BackendView[] {
  return backends.map((name) => {
    const own = Object.fromEntries(flags.filter((f) => f.backend === name).map((f) => [f.id, f.value]));
    const jobs = active.filter((job) => job.backend === name);
    return {
      name,
      paused: isPausedValue(own[Flag.Paused]),
      mode: own[Flag.Mode] || null,
      last_seen_at: own[Flag.LastSeenAt] || null,
      flags: own,
      running: jobs.filter((job) => job.state === "running").length,
      queued: jobs.filter((job) => job.state === "pending").length,
    };
  });
}

export interface JobSummary {
  id: string;
  rap_id: string;
  backend: string;
  workspace: string;
  action: string;
  state: string;
  status_code: string;
  status_message: string | null;
  cancelled: boolean;
  created_at: string | null;
  started_at: string | null;
  completed_at: string | null;
  updated_at: string | null;
  /** Seconds from start to completion (or to `now` while running); null before it starts. */
  duration: number | null;
}

export function jobSummary(job: Job, now: number): JobSummary {
  const time = (seconds: number | null) => (seconds === null ? null : isoOrNullFromUnixSeconds(seconds));
  return {
    id: job.id,
    rap_id: job.rapId,
    backend: job.backend,
    workspace: job.workspace,
    action: job.action,
    state: job.state,
    status_code: job.statusCode,
    status_message: job.statusMessage,
    cancelled: job.cancelled,
    created_at: time(job.createdAt),
    started_at: time(job.startedAt),
    completed_at: time(job.completedAt),
    updated_at: time(job.updatedAt),
    duration: job.startedAt === null ? null : Math.max(0, (job.completedAt ?? now) - job.startedAt),
  };
}

/** Active jobs per backend: running first, then the queue, each in creation order. */
export function queueViews(
  backends: readonly string[],
  active: readonly Job[],
  now: number,
): Record<string, { running: JobSummary[]; queued: JobSummary[] }> {
  const of = (backend: string, state: string) =>
    active.filter((job) => job.backend === backend && job.state === state).map((job) => jobSummary(job, now));
  return Object.fromEntries(
    backends.map((backend) => [backend, { running: of(backend, "running"), queued: of(backend, "pending") }]),
  );
}

export interface RapSummary {
  rap_id: string;
  backend: string;
  workspace: string;
  created_at: string | null;
  jobs: number;
  /** Jobs by state. */
  states: Record<string, number>;
}

/** RAPs of these jobs (newest first, as the jobs come), with their jobs counted by state. */
export function rapSummaries(newestFirst: readonly Job[]): RapSummary[] {
  const raps = new Map<string, RapSummary>();
  for (const job of newestFirst) {
    let rap = raps.get(job.rapId);
    if (!rap) {
      rap = {
        rap_id: job.rapId,
        backend: job.backend,
        workspace: job.workspace,
        created_at: isoOrNullFromUnixSeconds(job.createdAt),
        jobs: 0,
        states: {},
      };
      raps.set(job.rapId, rap);
    }
    rap.jobs++;
    rap.states[job.state] = (rap.states[job.state] ?? 0) + 1;
  }
  return [...raps.values()];
}

export interface GraphNode extends JobSummary {
  /** The jobs it waits for (edges of the graph), among this RAP's or earlier RAPs' jobs. */
  needs: string[];
  /** Longest chain of needs within the RAP before it: its column in the drawing. */
  depth: number;
}

/** A RAP's jobs as a graph, in creation order, each with its depth for a left-to-right drawing. */
export function rapGraph(jobs: readonly Job[], now: number): GraphNode[] {
  const ordered = [...jobs].sort((a, b) => a.createdAt - b.createdAt);
  const byId = new Map(ordered.map((job) => [job.id, job]));
  const depths = new Map<string, number>();
  // Needs form no cycle (the pipeline refuses them); the guard keeps a bad row from recursing for ever.
  const depth = (job: Job, seen: ReadonlySet<string>): number => {
    const known = depths.get(job.id);
    if (known !== undefined) return known;
    const inside = job.waitForJobIds.map((id) => byId.get(id)).filter((need) => need && !seen.has(need.id));
    const value =
      inside.length === 0
        ? 0
        : 1 + Math.max(...inside.map((need) => depth(need!, new Set([...seen, job.id]))));
    depths.set(job.id, value);
    return value;
  };
  return ordered.map((job) => ({
    ...jobSummary(job, now),
    needs: [...job.waitForJobIds],
    depth: depth(job, new Set()),
  }));
}
