import type { State, StatusCode } from "./status.js";

/** `{privacy_level: {output_name: glob_pattern}}`, as declared in project.yaml. */
export type OutputSpec = Record<string, Record<string, string>>;

/** A job: one action of one RAP on one backend. Field meanings: reference/controller.md §1.1. */
export interface Job {
  id: string;
  rapId: string;
  state: State;
  statusCode: StatusCode;
  statusMessage: string | null;
  repoUrl: string;
  commit: string;
  branch: string;
  workspace: string;
  databaseName: string;
  action: string;
  actionRepoUrl: string | null;
  actionCommit: string | null;
  requiresOutputsFrom: string[];
  waitForJobIds: string[];
  runCommand: string;
  outputSpec: OutputSpec;
  cancelled: boolean;
  /** Whole Unix seconds. */
  createdAt: number;
  updatedAt: number;
  startedAt: number | null;
  completedAt: number | null;
  /** Unix nanoseconds of the last status-code change. */
  statusCodeUpdatedAt: number;
  traceContext: Record<string, string> | null;
  requiresDb: boolean;
  backend: string;
  user: string;
  project: string;
  orgs: string[];
  analysisScope: Record<string, unknown>;
}
