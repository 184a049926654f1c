/**
 * A job's metadata file, `logs/{YYYY-MM}/os-job-{id}/metadata.json` (reference/agent.md §3.10–3.11): the record of
 * how the job ended, and the commit point of finalize (its presence makes the job FINALIZED or ERROR). Written to a
 * temporary file and renamed, so a crash never leaves half a file that would read as "finalized".
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { JobDefinition } from "../../domain/task.js";
import { AgentStateError } from "../errors.js";
import { orIfMissing, pathExists, writeFileAtomic } from "./files.js";
import { type AgentLayout, containerName, jobLogDir } from "./paths.js";

export type JobMetadata = Record<string, unknown>;

/** What a missing key reads as (files written by older versions lack some). */
export const METADATA_DEFAULTS: Readonly<JobMetadata> = Object.freeze({
  hint: null,
  unmatched_patterns: [],
  unmatched_outputs: [],
  timestamp_ns: null,
  action_version: null,
  action_revision: null,
  action_created: null,
  base_revision: null,
  base_created: null,
  level4_excluded_files: {},
  cancelled: false,
  error: false,
  job_metrics: {},
  user: null,
});

/** Environment variables whose values may be kept in the stored container description. */
const SAFE_ENV = new Set([
  "PATH",
  "PYTHON_VERSION",
  "DEBIAN_FRONTEND",
  "DEBCONF_NONINTERACTIVE_SEEN",
  "UBUNTU_VERSION",
  "PYENV_SHELL",
  "PYENV_VERSION",
  "PYTHONUNBUFFERED",
  "OPENSAFELY_BACKEND",
  "TZ",
  "TEMP_DATABASE_NAME",
  "PYTHONPATH",
  "container",
  "LANG",
  "LC_ALL",
  "EHRQL_PERMISSIONS",
]);

const REDACTED_VALUE = "xxxx-REDACTED-xxxx";

/** A copy of the runtime's container description with every `Config.Env` value not known to be safe redacted. */
export function redactContainerMetadata(metadata: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(metadata);
  const config = copy.Config as { Env?: unknown } | undefined;
  if (config && Array.isArray(config.Env)) {
    config.Env = config.Env.map((entry: unknown) => {
      if (typeof entry !== "string") return REDACTED_VALUE;
      const eq = entry.indexOf("=");
      const key = eq < 0 ? entry : entry.slice(0, eq);
      return SAFE_ENV.has(key) ? entry : `${key}=${REDACTED_VALUE}`;
    });
  }
  return copy;
}

/**
 * The job's metadata file, wherever its month directory is; null when there is none. Every job status reads this
 * (each running job, every poll), so the month directories are looked at together rather than one by one.
 */
async function findMetadataFile(layout: AgentLayout, jobId: string): Promise<string | null> {
  const months = await readdir(layout.jobLogDir).catch(orIfMissing(null));
  if (months === null) return null;
  const name = containerName(jobId);
  const paths = months.sort().map((month) => join(layout.jobLogDir, month, name, "metadata.json"));
  const exists = await Promise.all(paths.map(pathExists));
  const found = paths.filter((_, i) => exists[i]);
  if (found.length > 1)
    throw new AgentStateError(`Expected at most one path for job ${jobId}: ${found.join(", ")}`);
  return found[0] ?? null;
}

/** The job's metadata merged over the defaults, or `{}` when none was written. Not task-scoped. */
export async function readJobMetadata(layout: AgentLayout, jobId: string): Promise<JobMetadata> {
  const path = await findMetadataFile(layout, jobId);
  if (path === null) return {};
  const stored = JSON.parse(await readFile(path, "utf8")) as JobMetadata;
  return { ...METADATA_DEFAULTS, ...stored };
}

/**
 * The metadata for this task of the job: `{}` when it was written by a different task (a job re-run under a new
 * task starts afresh). Empty task ids on either side match anything, as in the reference.
 */
export async function readTaskMetadata(layout: AgentLayout, job: JobDefinition): Promise<JobMetadata> {
  const metadata = await readJobMetadata(layout, job.id);
  const stored = metadata.task_id;
  if (job.task_id && typeof stored === "string" && stored && stored !== job.task_id) return {};
  return metadata;
}

export async function writeJobMetadata(layout: AgentLayout, job: JobDefinition, metadata: JobMetadata) {
  await writeFileAtomic(join(jobLogDir(layout, job), "metadata.json"), JSON.stringify(metadata, null, 2));
}
