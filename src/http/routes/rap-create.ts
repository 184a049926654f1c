/**
 * `POST rap/create/`: the view-level steps of the reference (§7.3); creating the jobs themselves is the
 * injected `createJobs` pipeline. Every outcome is an answer job-server understands: never a 5xx.
 */
import type { FastifyBaseLogger } from "fastify";
import type { JobStore } from "../../db/storage.js";
import { NothingToDoError } from "../../jobs/errors.js";
import type { CreateRequest } from "../../jobs/request.js";
import { type JsonObject, toPlain } from "../../python/json-loads.js";
import {
  BackendNotAllowedError,
  CreateFailedError,
  createErrorFor,
  InconsistentRapError,
} from "../errors.js";

export type CreateJobsResult =
  | { readonly kind: "created"; readonly count: number }
  | { readonly kind: "nothing-to-do"; readonly details: string }
  /** A concurrent request created this rap_id's jobs first: answered as a repeated request is. */
  | { readonly kind: "already-created"; readonly count: number };

/**
 * The job-creation pipeline. It either creates jobs, finds nothing to do (returned, or thrown as the pipeline's
 * NothingToDoError), finds that a concurrent request created the rap_id first, or throws: a RefusalError's message
 * is shown to the user, anything else is logged and reported as `Unknown error`.
 */
export type CreateJobs = (request: CreateRequest) => Promise<CreateJobsResult>;

export interface CreateAnswer {
  status: 200 | 201;
  body: { result: string; details: string; rap_id: string; count: number };
}

/** The body, already checked against createRequestBody, as the pipeline's request. */
export function createRequestFromBody(body: JsonObject): CreateRequest {
  const field = <T>(name: string) => body.get(name) as T;
  const scope = body.get("analysis_scope");
  return {
    rapId: field("rap_id"),
    backend: field("backend"),
    workspace: field("workspace"),
    repoUrl: field("repo_url"),
    branch: field("branch"),
    commit: field("commit"),
    databaseName: field("database_name"),
    requestedActions: field("requested_actions"),
    codelistsOk: field("codelists_ok"),
    forceRunDependencies: field("force_run_dependencies"),
    createdBy: field("created_by"),
    project: field("project"),
    orgs: field("orgs"),
    // Omitted and null both mean "no extra permissions" (DESIGN DECISIONS 2).
    analysisScope: scope ? (toPlain(scope) as Record<string, unknown>) : {},
  };
}

/** The reference compares the three values as a set: which field holds which value does not matter. */
function sameValues(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((value) => right.has(value));
}

function noChange(rapId: string, count: number): CreateAnswer {
  const details = `Jobs already created for rap_id '${rapId}'`;
  return { status: 200, body: { result: "No change", details, rap_id: rapId, count } };
}

async function runPipeline(createJobs: CreateJobs, request: CreateRequest): Promise<CreateJobsResult> {
  try {
    return await createJobs(request);
  } catch (error) {
    if (error instanceof NothingToDoError) return { kind: "nothing-to-do", details: error.message };
    throw error;
  }
}

export async function createRap(
  jobs: JobStore,
  createJobs: CreateJobs,
  request: CreateRequest,
  backends: readonly string[],
  log: FastifyBaseLogger,
  /** Asks the scheduler for a pass now: the new jobs are committed, no need to wait for its next pass. */
  wakeScheduler: () => void = () => undefined,
): Promise<CreateAnswer> {
  const { rapId } = request;
  try {
    if (!backends.includes(request.backend)) throw new BackendNotAllowedError(request.backend, backends);
    // A rap_id is checked on every backend: ids are global, and job-server retries a create it is unsure of. A RAP
    // on another backend is always "inconsistent", so the answer reveals nothing about a RAP the token may not see
    // (the reference compares only the three values, and answers "No change" with the RAP's job count).
    const existing = await jobs.existingRap(rapId);
    if (existing) {
      const stored = [existing.repoUrl, existing.workspace, existing.commit];
      if (
        existing.backend !== request.backend ||
        !sameValues(stored, [request.repoUrl, request.workspace, request.commit])
      ) {
        throw new InconsistentRapError(rapId);
      }
      return noChange(rapId, existing.count);
    }
    const outcome = await runPipeline(createJobs, request);
    switch (outcome.kind) {
      case "created": {
        wakeScheduler();
        const details = `Jobs created for rap_id '${rapId}'`;
        return { status: 201, body: { result: "Success", details, rap_id: rapId, count: outcome.count } };
      }
      case "nothing-to-do":
        return {
          status: 200,
          body: { result: "Nothing to do", details: outcome.details, rap_id: rapId, count: 0 },
        };
      case "already-created":
        return noChange(rapId, outcome.count);
      default: {
        const unknown: never = outcome;
        throw new Error(`unknown create outcome ${JSON.stringify(unknown)}`);
      }
    }
  } catch (error) {
    const answer = createErrorFor(error);
    if (answer instanceof CreateFailedError) log.error({ err: error, rapId }, "rap/create failed");
    throw answer;
  }
}
