/**
 * Which actions read the database: the reference decides from the bare image name and the command word after it.
 * Registry-qualified images (`ghcr.io/opensafely-core/ehrql`) never count, exactly as in the reference.
 */
const DATABASE_COMMANDS = new Map<string, ReadonlySet<string> | "any command">([
  ["ehrql", new Set(["generate-dataset", "generate-measures"])],
  ["sqlrunner", "any command"],
  ["cohortextractor", new Set(["generate_cohort", "generate_codelist_report"])],
  ["databuilder", new Set(["generate-dataset"])],
]);

/** `parts` are the shell words of a run command, `image:tag` first. */
export function isDatabaseAction(parts: readonly string[]): boolean {
  const first = parts[0];
  if (first === undefined) return false;
  const colon = first.indexOf(":");
  const commands = DATABASE_COMMANDS.get(colon < 0 ? first : first.slice(0, colon));
  if (commands === undefined) return false;
  if (commands === "any command") return true;
  const command = parts[1];
  return command !== undefined && commands.has(command);
}
