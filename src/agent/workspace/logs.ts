/**
 * The job's `logs.txt`: the container's output followed by the JOB SUMMARY block (reference/agent.md §3.12), in
 * exactly the reference's layout, since researchers and output checkers read these files.
 */

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

export function jobSummary(metadata: Record<string, unknown>): string {
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
  return `${text}\n`;
}

/** Rows sorted by name: two spaces, the name padded, `  - `, the value padded (trailing spaces kept). */
export function table(rows: Record<string, string>): string {
  const entries = Object.entries(rows).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) return "  (no outputs)";
  const nameWidth = Math.max(...entries.map(([name]) => name.length));
  const valueWidth = Math.max(...entries.map(([, value]) => String(value).length));
  return entries
    .map(([name, value]) => `  ${name.padEnd(nameWidth)}  - ${String(value).padEnd(valueWidth)}`)
    .join("\n");
}
