/**
 * The workspace manifest, `medium_privacy/workspaces/{ws}/metadata/manifest.json` (reference/agent.md §3.9): one
 * entry per output file ever produced in the workspace, with flags for outputs whose action no longer exists in
 * project.yaml (`out_of_date_action`) or which the action's latest run did not produce (`out_of_date_output`).
 */
import { readFile } from "node:fs/promises";
import { orIfMissing, writeFileAtomic } from "./files.js";

export interface ManifestEntry {
  level: string;
  job_id: string;
  job_request: string;
  action: string;
  user: string | null;
  repo: string | null;
  commit: string | null;
  size: number;
  /** mtime of the high-privacy copy, float seconds. */
  timestamp: number;
  content_hash: string;
  excluded: boolean;
  message: string | null;
  row_count: number | null;
  col_count: number | null;
  out_of_date_action?: boolean;
  out_of_date_output?: boolean;
}

export interface Manifest {
  workspace: string;
  repo: string | null;
  outputs: Record<string, ManifestEntry>;
  [key: string]: unknown;
}

export async function readManifest(path: string, workspace: string): Promise<Manifest> {
  const text = await readFile(path, "utf8").catch(orIfMissing(null));
  if (text === null) return { workspace, repo: null, outputs: {} };
  const manifest = JSON.parse(text) as Manifest;
  manifest.outputs ??= {};
  return manifest;
}

/**
 * The manifest after a job's successful finalize. `currentActions` lists the actions of the study's project.yaml
 * (without `run_all`), or is null when it could not be read, in which case `out_of_date_action` flags are left as
 * they are. Pure.
 */
export function updateManifest(
  manifest: Manifest,
  action: string,
  newEntries: Record<string, ManifestEntry>,
  currentActions: readonly string[] | null,
): Manifest {
  const outputs: Record<string, ManifestEntry> = {};
  for (const [name, entry] of Object.entries(manifest.outputs)) {
    const updated = { ...entry };
    if (currentActions !== null) updated.out_of_date_action = !currentActions.includes(entry.action);
    if (entry.action === action && !(name in newEntries)) updated.out_of_date_output = true;
    outputs[name] = updated;
  }
  Object.assign(outputs, newEntries);
  return { ...manifest, outputs };
}

/** Written with a 2-space indent through `manifest.json.{hex}.tmp` and a rename. */
export async function writeManifest(path: string, manifest: Manifest): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(manifest, null, 2));
}
