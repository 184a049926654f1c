/**
 * Where the agent keeps things (reference/agent.md §3.1), and the check that every path built from a task stays
 * inside its directory (DESIGN DECISIONS 15). Workspace, action and job names must be one plain path segment;
 * output and input file names must be relative paths without `..`. A task is data from the network: nothing in it
 * is trusted to name a path.
 */
import { join, relative, sep } from "node:path";
import type { AgentStorage } from "../../config/agent.js";
import type { JobDefinition } from "../../domain/task.js";
import { UnsafePathError } from "../errors.js";
import { JOB_CONTAINER_PREFIX } from "../runtime/types.js";

export type Privacy = "high" | "medium";

export interface AgentLayout {
  readonly workdir: string;
  readonly highWorkspacesDir: string;
  readonly mediumWorkspacesDir: string;
  readonly jobLogDir: string;
  readonly volumesDir: string;
  /** The volume dir as the Docker host sees it (DOCKER_HOST_VOLUME_DIR); null when it is `volumesDir`. */
  readonly hostVolumesDir: string | null;
  readonly archiveDir: string;
  /** Per-job metrics files (`{job id}.json`), kept across agent restarts. */
  readonly metricsDir: string;
}

export function agentLayout(storage: AgentStorage): AgentLayout {
  return Object.freeze({
    workdir: storage.workdir,
    highWorkspacesDir: join(storage.highPrivacyStorageBase, "workspaces"),
    mediumWorkspacesDir: join(storage.mediumPrivacyStorageBase, "workspaces"),
    jobLogDir: join(storage.highPrivacyStorageBase, "logs"),
    volumesDir: storage.highPrivacyVolumeDir,
    hostVolumesDir: storage.dockerHostVolumeDir,
    archiveDir: storage.highPrivacyArchiveDir,
    metricsDir: join(storage.workdir, "metrics"),
  });
}

const MAX_SEGMENT = 200;

/** Throws UnsafePathError unless `name` is one ordinary path segment. Returns it unchanged. */
export function safeSegment(name: string, what: string): string {
  if (
    typeof name !== "string" ||
    name === "" ||
    name === "." ||
    name === ".." ||
    name.length > MAX_SEGMENT ||
    /[/\\\0]/.test(name)
  ) {
    throw new UnsafePathError(`Unsafe ${what} name: ${JSON.stringify(String(name).slice(0, 80))}`);
  }
  return name;
}

/**
 * Throws UnsafePathError unless `path` is a relative path that stays where it is joined (no `..` segment, not
 * absolute, no NUL or backslash). Empty and `.` segments are dropped, so `a//./b` comes back as `a/b`.
 */
export function safeRelativePath(path: string, what: string): string {
  const shown = JSON.stringify(String(path).slice(0, 80));
  if (typeof path !== "string" || path.startsWith("/") || /[\\\0]/.test(path)) {
    throw new UnsafePathError(`Unsafe ${what}: ${shown}`);
  }
  const segments = path.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.length === 0 || segments.includes("..")) throw new UnsafePathError(`Unsafe ${what}: ${shown}`);
  return segments.join("/");
}

/** `base/relPath` after checking relPath; and a second check on the joined result, for good measure. */
export function within(base: string, relPath: string, what: string): string {
  const full = join(base, safeRelativePath(relPath, what));
  if (!isInside(base, full)) throw new UnsafePathError(`Unsafe ${what}: ${JSON.stringify(relPath)}`);
  return full;
}

/** Whether `path` is `base` itself or below it (both absolute, normalised). */
export function isInside(base: string, path: string): boolean {
  const rel = relative(base, path);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !rel.startsWith(sep));
}

export function workspaceDir(layout: AgentLayout, privacy: Privacy, workspace: string): string {
  const base = privacy === "high" ? layout.highWorkspacesDir : layout.mediumWorkspacesDir;
  return join(base, safeSegment(workspace, "workspace"));
}

export function containerName(jobId: string): string {
  return `${JOB_CONTAINER_PREFIX}${safeSegment(jobId, "job")}`;
}

export function volumeDir(layout: AgentLayout, jobId: string): string {
  return join(layout.volumesDir, safeSegment(jobId, "job"));
}

/** The bind-mount source for the job's volume: the host's view when the agent runs inside Docker. */
export function hostVolumeDir(layout: AgentLayout, jobId: string): string {
  return join(layout.hostVolumesDir ?? layout.volumesDir, safeSegment(jobId, "job"));
}

/** `logs/{YYYY-MM}/os-job-{id}`, the month being the UTC month the job was created in. */
export function jobLogDir(layout: AgentLayout, job: Pick<JobDefinition, "id" | "created_at">): string {
  const month = new Date(job.created_at * 1000).toISOString().slice(0, 7);
  return join(layout.jobLogDir, month, containerName(job.id));
}

/** `metadata/{action}.log` in a workspace. */
export function actionLogPath(layout: AgentLayout, privacy: Privacy, job: JobDefinition): string {
  return join(
    workspaceDir(layout, privacy, job.workspace),
    "metadata",
    `${safeSegment(job.action, "action")}.log`,
  );
}

export function manifestPath(layout: AgentLayout, workspace: string): string {
  return join(workspaceDir(layout, "medium", workspace), "metadata", "manifest.json");
}
