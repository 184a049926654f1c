/** The body job-server sends to `POST rap/create/` for `run_all` of a study, as the benches send it. */
export interface RunAllCreate {
  rapId: string;
  workspace: string;
  repoUrl: string;
  commit: string;
  backend?: string;
}

export function runAllCreateBody(
  create: RunAllCreate,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    backend: create.backend ?? "test",
    rap_id: create.rapId,
    workspace: create.workspace,
    repo_url: create.repoUrl,
    branch: "main",
    commit: create.commit,
    database_name: "default",
    requested_actions: ["run_all"],
    codelists_ok: true,
    force_run_dependencies: false,
    created_by: "bench",
    project: "bench",
    orgs: ["bench"],
    analysis_scope: {},
    ...overrides,
  };
}
