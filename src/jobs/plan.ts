/**
 * Works out which jobs a create request adds (reference/controller.md §7.4.4–§7.4.6). Pure: the caller supplies the
 * parsed pipeline, the current workspace state, the clock and the trace-context factory.
 */
import { deterministicJobId } from "../domain/ids.js";
import type { Job } from "../domain/job.js";
import { isActiveState, State } from "../domain/status.js";
import { createdStatus } from "../domain/transition.js";
import { buildAnalysisScope } from "./analysis-scope.js";
import { NothingToDoError, UnknownActionError } from "./errors.js";
import type { PlannableAction, PlannableProject } from "./plannable.js";
import type { CreateRequest } from "./request.js";

export const RUN_ALL = "run_all";

export interface PlanContext {
  /** Current time in milliseconds. */
  now(): number;
  newTraceContext(): Record<string, string>;
}

/** A frame of the depth-first walk: an action whose dependencies are being visited. */
interface Visit {
  name: string;
  action: PlannableAction;
  /** Index of the next entry of `action.needs` to visit. */
  next: number;
  waitForJobIds: string[];
}

function shouldRerun(job: Job, request: CreateRequest): boolean {
  if (isActiveState(job.state)) return false;
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
  pipeline: PlannableProject,
  workspaceState: readonly Job[],
  context: PlanContext,
): Job[] {
  const current = workspaceState.filter((job) => pipeline.actions.has(job.action));
  const currentIds = new Set(current.map((job) => job.id));
  const jobsByAction = new Map<string, Job>(current.map((job) => [job.action, job]));

  /** A frame for the action, or null when its current job stands (its dependencies are then not visited). */
  const start = (name: string): Visit | null => {
    const existing = jobsByAction.get(name);
    if (existing && !shouldRerun(existing, request)) return null;
    const action = pipeline.actions.get(name);
    if (!action) throw new UnknownActionError(`Action '${name}' not found in project.yaml`);
    return { name, action, next: 0, waitForJobIds: [] };
  };

  // Depth first, dependencies before dependents, as the reference's recursion; a loop rather than recursion, so a
  // chain of thousands of `needs` cannot overflow the stack (the parser has already refused cycles).
  const visit = (root: string): void => {
    const first = start(root);
    const stack = first ? [first] : [];
    while (stack.length > 0) {
      const frame = stack.at(-1)!;
      if (frame.next < frame.action.needs.length) {
        const child = start(frame.action.needs[frame.next]!);
        if (child) stack.push(child);
        else waitIfActive(frame);
        continue;
      }
      stack.pop();
      jobsByAction.set(frame.name, newJob(frame));
      if (stack.length > 0) waitIfActive(stack.at(-1)!);
    }
  };

  /** After the dependency `frame.next` points at has been visited: the job waits for it if it is still to run. */
  const waitIfActive = (frame: Visit): void => {
    const dependency = jobsByAction.get(frame.action.needs[frame.next]!)!;
    if (isActiveState(dependency.state)) frame.waitForJobIds.push(dependency.id);
    frame.next += 1;
  };

  // Every key written out in one literal, none spread: a spread object given some twenty keys more goes to V8's
  // slow (dictionary) properties, which made planning the corpus's 2,191 jobs cost more than inserting them.
  const newJob = ({ name: actionName, action, waitForJobIds }: Visit): Job => {
    const status = createdStatus(context.now());
    return {
      id: deterministicJobId(request.rapId, actionName),
      rapId: request.rapId,
      state: status.state,
      statusCode: status.statusCode,
      statusMessage: status.statusMessage,
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
      runCommand: action.runCommand,
      outputSpec: action.outputs,
      cancelled: false,
      createdAt: status.updatedAt,
      updatedAt: status.updatedAt,
      startedAt: status.startedAt,
      completedAt: status.completedAt,
      statusCodeUpdatedAt: status.statusCodeUpdatedAt,
      traceContext: context.newTraceContext(),
      requiresDb: action.isDatabaseAction,
      backend: request.backend,
      user: request.createdBy,
      project: request.project,
      orgs: [...request.orgs],
      analysisScope: action.isDatabaseAction
        ? buildAnalysisScope(request.analysisScope, request.project)
        : {},
    };
  };

  const runAll = request.requestedActions.includes(RUN_ALL);
  for (const action of runAll ? pipeline.allActions : request.requestedActions) visit(action);

  const newJobs = [...jobsByAction.values()].filter((job) => !currentIds.has(job.id));
  if (newJobs.length === 0) throw nothingToDo(request, jobsByAction, runAll);
  return newJobs;
}

function nothingToDo(request: CreateRequest, jobsByAction: Map<string, Job>, runAll: boolean): Error {
  if (runAll) return new NothingToDoError("All actions have already completed successfully");
  if (request.requestedActions.every((action) => isActiveState(jobsByAction.get(action)!.state))) {
    return new NothingToDoError("All requested actions were already scheduled to run");
  }
  // Unreachable in practice: a requested action that is neither active nor rerun would have been rerun.
  return new Error(`Unexpected job states after scheduling: ${request.requestedActions.join(", ")}`);
}
