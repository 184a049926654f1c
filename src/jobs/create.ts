/**
 * The create pipeline (reference/controller.md §7.4): a validated request → the RAP's new jobs, inserted together.
 *
 * Concurrency (DESIGN DECISIONS 8): the workspace state is read, the jobs planned and inserted inside one write
 * transaction, so two creates for the same workspace never both add a job for one action, and the same rap_id
 * submitted twice creates its jobs once. Git work (reusable actions) never runs inside the transaction: when a plan
 * needs an action not yet resolved, the transaction is abandoned, the action resolved, and the plan made again.
 */
import type { Storage } from "../db/storage.js";
import type { Clock } from "../domain/clock.js";
import { echo } from "../domain/echo.js";
import type { Job } from "../domain/job.js";
import { checkRepository, type GitSettings, readFileFromRepo } from "../git/index.js";
import { newTraceContext } from "../telemetry/trace-context.js";
import { RapCreateRequestError, RunCommandTooLongError, StaleCodelistError } from "./errors.js";
import { checkNamesUsedAsPaths } from "./names.js";
import { parseProjectFile } from "./parse-project.js";
import { planNewJobs } from "./plan.js";
import type { PlannableProject } from "./plannable.js";
import type { ProjectCache } from "./project-cache.js";
import type { CreateRequest } from "./request.js";
import { ReusableActions } from "./reusable-actions.js";
import { validateCreateRequest } from "./validate-request.js";

export interface CreateDependencies {
  storage: Storage;
  git: GitSettings;
  backends: readonly string[];
  /** MAX_RUN_COMMAND_BYTES: a create whose job would get a longer run_command is refused. */
  maxRunCommandBytes: number;
  /** Parsed project files by commit, shared between requests (optional: without it every create reads git). */
  projects?: ProjectCache;
  clock: Clock;
}

export type CreateOutcome =
  | { kind: "created"; jobs: Job[] }
  /** Another request created this rap_id's jobs first. */
  | { kind: "already-created"; count: number };

/** Planning rounds before giving up; each extra round means newly needed reusable actions or a racing create. */
const MAX_ROUNDS = 5;

export async function createJobs(deps: CreateDependencies, request: CreateRequest): Promise<CreateOutcome> {
  validateCreateRequest(request, deps.backends);
  await checkRepository(request, deps.git);
  const load = () => readProject(request, deps.git);
  const pipeline = deps.projects
    ? await deps.projects.get(request.repoUrl, request.commit, load)
    : await load();
  const reusable = new ReusableActions(deps.git);
  const now = () => deps.clock.nowMs();

  for (let round = 0; round < MAX_ROUNDS; round += 1) {
    const outcome = await deps.storage.withWorkspaceLock(
      request.backend,
      request.workspace,
      async ({ jobs }) => {
        const existing = await jobs.existingRap(request.rapId);
        if (existing) return { kind: "already-created", count: existing.count } as const;
        const state = await jobs.workspaceState(request.backend, request.workspace);
        const planned = planNewJobs(request, pipeline, state, { now, newTraceContext });
        checkNamesUsedAsPaths(planned);
        checkRunCommands(planned, deps.maxRunCommandBytes);
        if (!reusable.allResolved(planned)) return { kind: "needs-actions", jobs: planned } as const;
        await reusable.apply(planned);
        checkCodelists(request, planned);
        await jobs.insert(planned);
        return { kind: "created", jobs: planned } as const;
      },
    );
    if (outcome.kind !== "needs-actions") return outcome;
    // Resolve outside the transaction; errors here are the request's answer.
    await reusable.apply(outcome.jobs);
  }
  throw new Error(`gave up creating jobs for rap_id ${request.rapId} after ${MAX_ROUNDS} planning rounds`);
}

async function readProject(request: CreateRequest, git: GitSettings): Promise<PlannableProject> {
  const bytes = await readFileFromRepo(request.repoUrl, request.commit, "project.yaml", git);
  if (bytes === null)
    throw new RapCreateRequestError(`No project.yaml file found in ${echo(request.repoUrl)}`);
  return parseProjectFile(bytes);
}

/**
 * Checked as soon as the jobs are planned, before a reusable action's git work (which rewrites only the command's
 * first word, from a small action.yaml). A command this long only comes from a huge `config`.
 */
function checkRunCommands(jobs: readonly Job[], maxBytes: number): void {
  for (const job of jobs) {
    const bytes = Buffer.byteLength(job.runCommand);
    if (bytes > maxBytes) {
      throw new RunCommandTooLongError(
        `Action '${job.action}' would run a command of ${bytes} bytes, more than the ${maxBytes} bytes this server accepts (MAX_RUN_COMMAND_BYTES)`,
      );
    }
  }
}

/** Stale codelists block any database job, requested or pulled in as a dependency (the first one is named). */
function checkCodelists(request: CreateRequest, jobs: readonly Job[]): void {
  if (request.codelistsOk) return;
  const first = jobs.find((job) => job.requiresDb);
  if (first) throw new StaleCodelistError(`Codelists are out of date (required by action ${first.action})`);
}
