/**
 * The JobDefinition a RUNJOB or CANCELJOB task carries (reference/controller.md §1.6), built when the task is
 * created. Pure: the caller supplies the job's inputs (the latest job of each needed action) and the image digest.
 */
import type { SchedulerConfig } from "../config/index.js";
import type { Job } from "../domain/job.js";
import type { JobDefinition } from "../domain/task.js";
import { shlexSplit } from "../pipeline/index.js";
import { pythonJsonDumps } from "../python/json-dumps.js";

/** The file types allowed in moderately_sensitive outputs, sorted (the pipeline library's set). */
const LEVEL4_FILE_TYPES = [
  ".csv",
  ".html",
  ".jpeg",
  ".jpg",
  ".json",
  ".log",
  ".md",
  ".png",
  ".svg",
  ".svgz",
  ".txt",
] as const;

export interface DefinitionInputs {
  taskId: string;
  /** The registry digest of the image (RUNJOB), or null (CANCELJOB, digests off). */
  imageSha: string | null;
  /** For each action in the job's `needs`, the id of its latest job in the workspace, if any. */
  inputJobIds: string[];
}

/** `{pattern: privacy level}` from `{privacy level: {name: pattern}}`. */
function flattenOutputs(spec: Job["outputSpec"]): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [level, outputs] of Object.entries(spec)) {
    for (const pattern of Object.values(outputs)) flat[pattern] = level;
  }
  return flat;
}

/** The EHRQL_PERMISSIONS value: every permission of the analysis scope, as Python's json.dumps prints a list. */
function ehrqlPermissions(scope: Record<string, unknown>): string {
  const values = Object.values(scope).flatMap((list) => (Array.isArray(list) ? list.map(String) : []));
  return pythonJsonDumps(values);
}

export function jobDefinition(job: Job, config: SchedulerConfig, inputs: DefinitionInputs): JobDefinition {
  const [imageAndTag = "", ...args] = shlexSplit(job.runCommand);
  const env: Record<string, string> = { OPENSAFELY_BACKEND: job.backend };
  if (imageAndTag.startsWith("stata-mp")) env.STATA_LICENSE = config.stataLicense ?? "None";
  if (job.requiresDb) {
    env.EHRQL_PERMISSIONS = ehrqlPermissions(job.analysisScope);
    const joinCount = config.ehrqlMaxJoinCount[job.workspace];
    if (joinCount !== undefined) env.EHRQL_MAX_JOIN_COUNT = joinCount;
  }
  const limits = config.jobLimits[job.backend];
  return {
    id: job.id,
    rap_id: job.rapId,
    task_id: inputs.taskId,
    repo_url: job.actionRepoUrl ?? job.repoUrl,
    commit: job.actionCommit ?? job.commit,
    study: { git_repo_url: job.repoUrl, commit: job.commit, branch: job.branch },
    workspace: job.workspace,
    action: job.action,
    created_at: job.createdAt,
    image: `${config.dockerRegistry}/${imageAndTag}`,
    image_sha: inputs.imageSha,
    args,
    env,
    inputs: [],
    input_job_ids: inputs.inputJobIds,
    output_spec: flattenOutputs(job.outputSpec),
    allow_database_access: job.requiresDb,
    level4_max_csv_rows: config.level4MaxCsvRows,
    level4_max_filesize: config.level4MaxFilesize,
    user: job.user,
    database_name: job.requiresDb ? job.databaseName : null,
    cpu_count: limits?.cpuCount ?? 2,
    memory_limit: limits?.memoryLimit ?? "4G",
    level4_file_types: [...LEVEL4_FILE_TYPES],
  };
}

/** The tracing attributes a job's tasks carry. */
export function taskAttributes(job: Job): Record<string, string> {
  return { user: job.user || "unknown", project: job.project || "unknown", orgs: job.orgs.join(",") };
}
