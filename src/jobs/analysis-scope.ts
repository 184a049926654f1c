/** Projects approved for event-level data in ehrQL (a fixed list in the reference). */
const PROJECTS_WITH_EHRQL_EVENT_LEVEL_ACCESS: ReadonlySet<string> = new Set([
  "echo-evaluation-of-covid-19-vaccine-histories-using-opensafely",
]);

const EVENT_LEVEL_DATA = "event_level_data";

function sortedStrings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String).sort() : [];
}

/**
 * The permissions stored on a database job (reference/controller.md §7.4.7): the request's scope with
 * `dataset_permissions` sorted (default empty), and event-level access added for approved projects. Other keys keep
 * their place and value. Non-database jobs always get `{}` (the caller decides that).
 */
export function buildAnalysisScope(
  requested: Record<string, unknown>,
  project: string,
): Record<string, unknown> {
  const scope: Record<string, unknown> = { ...requested };
  scope.dataset_permissions = sortedStrings(requested.dataset_permissions);
  if (PROJECTS_WITH_EHRQL_EVENT_LEVEL_ACCESS.has(project)) {
    scope.component_access = [
      ...new Set([...sortedStrings(requested.component_access), EVENT_LEVEL_DATA]),
    ].sort();
  }
  return scope;
}
