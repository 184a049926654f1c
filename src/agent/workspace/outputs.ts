/**
 * Moving a finished job's outputs into the workspaces (reference/agent.md §3.7): every output to the high-privacy
 * workspace; `moderately_sensitive` ones that pass the level 4 checks on to the medium-privacy workspace (the
 * others replaced there by a message file); then the manifest.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import type { JobDefinition } from "../../domain/task.js";
import { copyFileAtomic, FILE_CONCURRENCY, mapConcurrently, writeFileAtomic } from "./files.js";
import { checkLevel4, type Level4Result } from "./level4.js";
import { type ManifestEntry, readManifest, updateManifest, writeManifest } from "./manifest.js";
import { type AgentLayout, manifestPath, within, workspaceDir } from "./paths.js";
import { copyOut } from "./volume.js";

const LEVEL4_PRIVACY = "moderately_sensitive";

/**
 * Copies the outputs and updates the manifest. `currentActions` reads the study's project.yaml (null when it cannot
 * be read); it is only called when the manifest already lists outputs. Returns `{file: short message}` for the
 * level 4 files that were held back.
 */
export async function persistOutputs(
  layout: AgentLayout,
  job: JobDefinition,
  volume: string,
  outputs: Readonly<Record<string, string>>,
  currentActions: () => Promise<string[] | null>,
): Promise<Record<string, string>> {
  const high = workspaceDir(layout, "high", job.workspace);
  const medium = workspaceDir(layout, "medium", job.workspace);
  const files = Object.keys(outputs);
  const copied = await mapConcurrently(files, FILE_CONCURRENCY, (file) =>
    copyOut(volume, file, within(high, file, "output path")),
  );
  const copies = new Map(files.map((file, i) => [file, copied[i]!]));
  const limits = {
    maxFilesize: job.level4_max_filesize,
    maxCsvRows: job.level4_max_csv_rows,
    fileTypes: job.level4_file_types,
  };
  const checks = new Map<string, Level4Result>();
  const excluded: Record<string, string> = {};
  for (const [file, level] of Object.entries(outputs)) {
    if (level !== LEVEL4_PRIVACY) continue;
    const highPath = within(high, file, "output path");
    const mediumPath = within(medium, file, "output path");
    const check = await checkLevel4(file, copies.get(file)!.size, limits, () => readFile(highPath));
    checks.set(file, check);
    if (check.shortMessage !== null) {
      excluded[file] = check.shortMessage;
      await writeFileAtomic(`${mediumPath}.txt`, check.longMessage ?? "");
      await rm(mediumPath, { force: true });
    } else {
      await copyFileAtomic(highPath, mediumPath);
      await rm(`${mediumPath}.txt`, { force: true });
    }
  }
  const described = await mapConcurrently(
    Object.entries(outputs),
    FILE_CONCURRENCY,
    async ([file, level]) => {
      const highPath = within(high, file, "output path");
      const check = checks.get(file);
      const entry: ManifestEntry = {
        level,
        job_id: job.id,
        job_request: job.rap_id,
        action: job.action,
        user: job.user,
        repo: job.study?.git_repo_url ?? null,
        commit: job.study?.commit ?? null,
        size: copies.get(file)!.size,
        timestamp: copies.get(file)!.mtimeMs / 1000,
        content_hash: await sha256File(highPath),
        excluded: file in excluded,
        message: excluded[file] ?? null,
        row_count: check?.rowCount ?? null,
        col_count: check?.colCount ?? null,
      };
      return [file, entry] as const;
    },
  );
  const entries: Record<string, ManifestEntry> = Object.fromEntries(described);
  const path = manifestPath(layout, job.workspace);
  const manifest = await readManifest(path, job.workspace);
  const actions = Object.keys(manifest.outputs).length > 0 ? await currentActions() : null;
  await writeManifest(path, updateManifest(manifest, job.action, entries, actions));
  return excluded;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
