/**
 * Works out which jobs a create request adds (reference/controller.md §7.4.4–§7.4.6). Pure: the caller supplies the
 * parsed pipeline, the current workspace state, the clock and the trace-context factory.
 */
import { deterministicJobId } from "../domain/ids.js";
import type { Job } from "../domain/job.js";
import { State } from "../domain/status.js";
import { createdStatus } from "../domain/transition.js";
import { buildRunCommand, type Pipeline } from "../pipeline/index.js";
import { buildAnalysisScope } from "./analysis-scope.js";
import { NothingToDoError, UnknownActionError } from "./errors.js";
import type { CreateRequest } from "./request.js";

export const RUN_ALL = "run_all";

export interface PlanContext {
  /** Current time in milliseconds. */
  now(): number;
  newTraceContext(): Record<string, string>;
}

function isActive(job: Job): boolean {
  return job.state === State.Pending || job.state === State.Running;
}

function shouldRerun(job: Job, request: CreateRequest): boolean {
  if (isActive(job)) return false;
  // A literal `run_all` never names a real action, so with run_all nothing counts as explicitly requested.
  if (request.requestedActions.includes(job.action)) return true;
  if (request.forceRunDependencies) return true;
  return job.state === State.Failed;
}

/**
 * Returns the new jobs, dependencies before dependents. Reruns of existing actions keep their action's slot in the
 * (action-ordered) workspace state; brand-new actions follow in creation order. Throws NothingToDoError when nothing
 * new is needed.
 */
export function planNewJobs(
  request: CreateRequest,
  pipeline: Pipeline,
  workspaceState: readonly Job[],
  context: PlanContext,
): Job[] {
  const current = workspaceState.filter((job) => pipeline.actions.has(job.action));
  const currentIds = new Set(current.map((job) => job.id));
  const jobsByAction = new Map<string, Job>(current.map((job) => [job.action, job]));

  const visit = (actionName: string): void => {
    const existing = jobsByAction.get(actionName);
    if (existing && !shouldRerun(existing, request)) return;
    const action = pipeline.actions.get(actionName);
    if (!action) throw new UnknownActionError(`Action '${actionName}' not found in project.yaml`);

    const waitForJobIds: string[] = [];
    for (const needed of action.needs) {
      visit(needed);
      const dependency = jobsByAction.get(needed)!;
      if (isActive(dependency)) waitForJobIds.push(dependency.id);
    }
    const status = createdStatus(context.now());
    jobsByAction.set(actionName, {
      ...status,
      id: deterministicJobId(request.rapId, actionName),
      rapId: request.rapId,
      repoUrl: request.repoUrl,
      commit: request.commit,
      branch: request.branch,
      workspace: request.workspace,
      databaseName: request.databaseName,
      action: actionName,
      actionRepoUrl: null,
      actionCommit: null,
      requiresOutputsFrom: [...action.needs],
      waitForJobIds,
      runCommand: buildRunCommand(action),
      outputSpec: action.outputs,
      cancelled: false,
      createdAt: status.updatedAt,
      traceContext: context.newTraceContext(),
      requiresDb: action.isDatabaseAction,
      backend: request.backend,
      user: request.createdBy,
      project: request.project,
      orgs: [...request.orgs],
      analysisScope: action.isDatabaseAction
        ? buildAnalysisScope(request.analysisScope, request.project)
        : {},
    });
  };

  const runAll = request.requestedActions.includes(RUN_ALL);
  for (const action of runAll ? pipeline.allActions : request.requestedActions) visit(action);

  const newJobs = [...jobsByAction.values()].filter((job) => !currentIds.has(job.id));
  if (newJobs.length === 0) throw nothingToDo(request, jobsByAction, runAll);
  return newJobs;
}

function nothingToDo(request: CreateRequest, jobsByAction: Map<string, Job>, runAll: boolean): Error {
  if (runAll) return new NothingToDoError("All actions have already completed successfully");
  if (request.requestedActions.every((action) => isActive(jobsByAction.get(action)!))) {
    return new NothingToDoError("All requested actions were already scheduled to run");
  }
  // Unreachable in practice: a requested action that is neither active nor rerun would have been rerun.
  return new Error(`Unexpected job states after scheduling: ${request.requestedActions.join(", ")}`);
}
