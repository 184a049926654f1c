/**
 * The job's `logs.txt`: the container's output followed by the JOB SUMMARY block (reference/agent.md §3.12), in
 * exactly the reference's layout, since researchers and output checkers read these files. File names are shown
 * escaped (shownName), so a name can never add a line; an ordinary name is unchanged.
 */
import { shownName } from "./names.js";

const SUMMARY_KEYS = [
  "job_definition_id",
  "job_definition_rap_id",
  "commit",
  "docker_image_id",
  "exit_code",
  "created_at",
  "completed_at",
  "database_name",
  "status_message",
  "hint",
] as const;

/** A file name (its bytes when they are not UTF-8) and what is said about it. */
export type NamedRow = readonly [name: string | Buffer, value: string];

/** `notSaved`: the matched outputs the agent refused to save, with why (ours; the reference has no such section). */
export function jobSummary(metadata: Record<string, unknown>, notSaved: readonly NamedRow[] = []): string {
  let text = "\n=============JOB SUMMARY=============\n";
  for (const key of SUMMARY_KEYS) {
    const value = metadata[key];
    if (value === null || value === undefined || value === "" || value === 0 || value === false) continue;
    text += `${key}: ${String(value)}\n`;
  }
  text += "\noutputs:\n";
  text += table((metadata.outputs as Record<string, string>) ?? {});
  const excluded = metadata.level4_excluded_files as Record<string, string> | undefined;
  if (excluded && Object.keys(excluded).length > 0) {
    text += "\n\nInvalid moderately_sensitive outputs:\n";
    text += table(excluded);
  }
  if (notSaved.length > 0) {
    text += "\n\nOutputs not saved:\n";
    text += table(notSaved);
  }
  return `${text}\n`;
}

/** Rows sorted by name: two spaces, the name shown padded, `  - `, the value padded (trailing spaces kept). */
export function table(rows: Record<string, string> | readonly NamedRow[]): string {
  const entries = (Array.isArray(rows) ? rows : Object.entries(rows))
    .map(([name, value]) => [shownName(name), value] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) return "  (no outputs)";
  const nameWidth = Math.max(...entries.map(([name]) => name.length));
  const valueWidth = Math.max(...entries.map(([, value]) => String(value).length));
  return entries
    .map(([name, value]) => `  ${name.padEnd(nameWidth)}  - ${String(value).padEnd(valueWidth)}`)
    .join("\n");
}
