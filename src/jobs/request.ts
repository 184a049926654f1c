/**
 * A request to create a RAP's jobs: the validated body of `POST rap/create/` (or what `rap add-job` builds), with
 * the API's snake_case fields in camelCase.
 */
export interface CreateRequest {
  /** The RAP id (`rap_id`). */
  rapId: string;
  backend: string;
  workspace: string;
  repoUrl: string;
  branch: string;
  commit: string;
  databaseName: string;
  requestedActions: string[];
  codelistsOk: boolean;
  forceRunDependencies: boolean;
  createdBy: string;
  project: string;
  orgs: string[];
  /** `{}` when the request had none (or null). */
  analysisScope: Record<string, unknown>;
}
