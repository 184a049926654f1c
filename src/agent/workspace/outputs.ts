/**
 * Moving a finished job's outputs into the workspaces (reference/agent.md §3.7): every output to the high-privacy
 * workspace; `moderately_sensitive` ones that pass the level 4 checks on to the medium-privacy workspace (the
 * others replaced there by a message file); then the manifest.
 */
import { readFile, rm } from "node:fs/promises";
import type { JobDefinition } from "../../domain/task.js";
import { KeyedLock } from "../../git/index.js";
import { UnsafePathError } from "../errors.js";
import { SOURCE_CHANGED } from "./copy-sync.js";
import { errnoError } from "./file-workers.js";
import {
  type CopiedFile,
  copyFileAtomic,
  copyFilesAtomic,
  isDiskFull,
  orIf,
  WorkspaceDiskFullError,
  writeFileAtomic,
} from "./files.js";
import { checkLevel4, type Level4Result } from "./level4.js";
import { type ManifestEntry, readManifest, updateManifest, writeManifest } from "./manifest.js";
import { copyRefusal, REFUSED_COPY_CODES } from "./names.js";
import { type AgentLayout, manifestPath, within, workspaceDir } from "./paths.js";
import type { ListedSource } from "./volume.js";

const LEVEL4_PRIVACY = "moderately_sensitive";

/**
 * The job's status message when its outputs could not be saved for lack of disk space (the controller shows it
 * after "Job exited with an error: "): not the researcher's fault, and worth running again later.
 */
export const OUTPUTS_DISK_FULL_MESSAGE =
  "The backend's disk is full, so this job's outputs could not be saved. Run the job again later; if this keeps happening, contact tech-support.";

/** The status message when the outputs total more than MAX_JOB_OUTPUT_BYTES (the files are named in the job's log). */
export const OUTPUTS_TOO_LARGE_MESSAGE =
  "This job's outputs are larger than this backend allows, so none were saved. See the job log for the sizes.";

export interface PersistedOutputs {
  /** `{file: short message}` for the level 4 files that were held back. */
  readonly excluded: Record<string, string>;
  /** `{file: reason}` for the outputs that could not be saved because of their name or place (copyRefusal). */
  readonly notSaved: Record<string, string>;
}

/**
 * The agent finalizes jobs side by side, and jobs of one workspace share its manifest: each job's read, update and
 * write of it runs alone, or one job's entries could overwrite another's.
 */
const manifests = new KeyedLock();

/**
 * Copies the outputs (each from its source in the job's volume, as listed) and updates the manifest.
 * `currentActions` reads the study's project.yaml (null when it cannot be read); it is only called when the
 * manifest already lists outputs. An output refused for its name or place is
 * left out (of the workspaces and the manifest) and the others saved. A full disk throws WorkspaceDiskFullError.
 */
export async function persistOutputs(
  layout: AgentLayout,
  job: JobDefinition,
  sources: Readonly<Record<string, ListedSource>>,
  outputs: Readonly<Record<string, string>>,
  currentActions: () => Promise<string[] | null>,
): Promise<PersistedOutputs> {
  const high = workspaceDir(layout, "high", job.workspace);
  try {
    return await persist(layout, job, sources, outputs, currentActions);
  } catch (error) {
    if (isDiskFull(error))
      throw new WorkspaceDiskFullError((error as NodeJS.ErrnoException).path ?? high, error);
    throw error;
  }
}

async function persist(
  layout: AgentLayout,
  job: JobDefinition,
  sources: Readonly<Record<string, ListedSource>>,
  outputs: Readonly<Record<string, string>>,
  currentActions: () => Promise<string[] | null>,
): Promise<PersistedOutputs> {
  const high = workspaceDir(layout, "high", job.workspace);
  const medium = workspaceDir(layout, "medium", job.workspace);
  const copies = new Map<string, CopiedFile>();
  const notSaved: Record<string, string> = {};
  const files = Object.keys(outputs);
  const items = files.map((file) => {
    const source = sources[file];
    if (!source) throw new UnsafePathError(`Output ${file} is not a file of the job's volume`);
    return { source: source.path, expect: source, dest: within(high, file, "output path") };
  });
  for (const [i, outcome] of (await copyFilesAtomic(items, REFUSED_COPY_CODES)).entries()) {
    const file = files[i]!;
    if ("copied" in outcome) {
      copies.set(file, outcome.copied);
      continue;
    }
    const { code } = outcome.failed;
    if (code === SOURCE_CHANGED) throw new UnsafePathError(`Output ${file} leads outside the job's volume`);
    const reason = copyRefusal(code);
    if (reason === null) throw errnoError(outcome.failed);
    notSaved[file] = reason;
  }
  const saved = Object.entries(outputs).filter(([file]) => copies.has(file));
  const limits = {
    maxFilesize: job.level4_max_filesize,
    maxCsvRows: job.level4_max_csv_rows,
    fileTypes: job.level4_file_types,
  };
  const checks = new Map<string, Level4Result>();
  const excluded: Record<string, string> = {};
  for (const [file, level] of saved) {
    if (level !== LEVEL4_PRIVACY) continue;
    const highPath = within(high, file, "output path");
    const mediumPath = within(medium, file, "output path");
    const check = await checkLevel4(file, copies.get(file)!.size, limits, () => readFile(highPath));
    checks.set(file, check);
    if (check.shortMessage !== null) {
      excluded[file] = check.shortMessage;
      // A name of more than 251 bytes leaves no room for `.txt`: the exclusion is still in the manifest and log.
      await writeFileAtomic(`${mediumPath}.txt`, check.longMessage ?? "").catch(
        orIf("ENAMETOOLONG", undefined),
      );
      await rm(mediumPath, { force: true });
    } else {
      await copyFileAtomic(highPath, mediumPath);
      await rm(`${mediumPath}.txt`, { force: true }).catch(orIf("ENAMETOOLONG", undefined));
    }
  }
  const entries: Record<string, ManifestEntry> = {};
  for (const [file, level] of saved) {
    const copy = copies.get(file)!;
    const check = checks.get(file);
    entries[file] = {
      level,
      job_id: job.id,
      job_request: job.rap_id,
      action: job.action,
      user: job.user,
      repo: job.study?.git_repo_url ?? null,
      commit: job.study?.commit ?? null,
      size: copy.size,
      timestamp: copy.mtimeMs / 1000,
      content_hash: copy.sha256,
      excluded: file in excluded,
      message: excluded[file] ?? null,
      row_count: check?.rowCount ?? null,
      col_count: check?.colCount ?? null,
    };
  }
  const path = manifestPath(layout, job.workspace);
  await manifests.run(path, async () => {
    const manifest = await readManifest(path, job.workspace);
    const actions = Object.keys(manifest.outputs).length > 0 ? await currentActions() : null;
    await writeManifest(path, updateManifest(manifest, job.action, entries, actions));
  });
  return { excluded, notSaved };
}
