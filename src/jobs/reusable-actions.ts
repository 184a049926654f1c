/**
 * Reusable actions (reference/controller.md §7.7): a run command whose image is not one of the platform's runtimes
 * names an action published in the `opensafely-actions` GitHub organisation. It is resolved to an approved commit,
 * and the job's command is rewritten to the action's own runtime command, with the study's arguments appended.
 */
import { parse as parseYaml } from "yaml";
import type { Job } from "../domain/job.js";
import {
  GitError,
  GithubValidationError,
  GitRepoNotReachableError,
  type GitSettings,
  GitUnknownRefError,
  getShaFromRemoteRef,
  readFileFromRepo,
  validateBranchAndCommit,
  validateRepoUrl,
} from "../git/index.js";
import { isDatabaseAction, shlexJoin, shlexSplit } from "../pipeline/index.js";
import { ReusableActionError } from "./errors.js";

/** Images the platform runs directly; any other image names a reusable action. */
export const ALLOWED_IMAGES: ReadonlySet<string> = new Set([
  "ehrql",
  "stata-mp",
  "r",
  "jupyter",
  "python",
  "sqlrunner",
]);
const ACTIONS_GITHUB_ORG = "opensafely-actions";

interface ResolvedAction {
  repoUrl: string;
  commit: string;
  /** The action's own run command, split into words. */
  runArgs: string[];
}

/** `image:tag` of a run command's first word; anything else is an unexpected command (an internal error). */
function imageAndTag(runArgs: readonly string[], command: string): [string, string] {
  const parts = (runArgs[0] ?? "").split(":");
  if (parts.length !== 2) throw new Error(`run command does not start with image:tag: ${command}`);
  return [parts[0]!, parts[1]!];
}

/**
 * Resolves and applies reusable actions for one create request. Resolutions are cached per `image:tag`, so an
 * action used by several jobs is fetched and parsed once.
 */
export class ReusableActions {
  readonly #cache = new Map<string, Promise<ResolvedAction>>();

  constructor(private readonly git: GitSettings) {}

  /** The `image:tag` a job needs resolved, or null when its image is a platform runtime. */
  referenceOf(job: Job): string | null {
    const args = shlexSplit(job.runCommand);
    const [image, tag] = imageAndTag(args, job.runCommand);
    return ALLOWED_IMAGES.has(image) ? null : `${image}:${tag}`;
  }

  /** Whether applying to these jobs would need no more git work. */
  allResolved(jobs: readonly Job[]): boolean {
    return jobs.every((job) => {
      const reference = this.referenceOf(job);
      return reference === null || this.#cache.has(reference);
    });
  }

  /**
   * Rewrites the jobs' run commands in place, in order; the first failure stops it and is reported against its
   * action (`in 'action: image:tag' message`).
   */
  async apply(jobs: readonly Job[]): Promise<void> {
    for (const job of jobs) {
      const reference = this.referenceOf(job);
      if (reference === null) continue;
      const originalArgs = shlexSplit(job.runCommand);
      let resolved: ResolvedAction;
      try {
        resolved = await this.#resolve(reference);
      } catch (error) {
        if (error instanceof ReusableActionError) {
          throw new ReusableActionError(`in '${job.action}: ${originalArgs[0]}' ${error.message}`);
        }
        throw error;
      }
      job.runCommand = shlexJoin([...resolved.runArgs, ...originalArgs.slice(1)]);
      job.actionRepoUrl = resolved.repoUrl;
      job.actionCommit = resolved.commit;
    }
  }

  #resolve(reference: string): Promise<ResolvedAction> {
    let pending = this.#cache.get(reference);
    if (!pending) {
      const [image, tag] = reference.split(":") as [string, string];
      pending = this.#fetch(image, tag);
      this.#cache.set(reference, pending);
      // A failure is not cached: a later request may succeed once the action is fixed.
      pending.catch(() => this.#cache.delete(reference));
    }
    return pending;
  }

  async #fetch(image: string, tag: string): Promise<ResolvedAction> {
    const repoUrl = `https://github.com/${ACTIONS_GITHUB_ORG}/${image}`;
    try {
      validateRepoUrl(repoUrl, [ACTIONS_GITHUB_ORG]);
    } catch {
      throw new ReusableActionError(`'${image}' contains invalid characters`);
    }

    let commit: string;
    try {
      commit = await getShaFromRemoteRef(repoUrl, tag, this.git);
    } catch (error) {
      if (error instanceof GitRepoNotReachableError) {
        throw new ReusableActionError(
          `could not find a repo at ${repoUrl}\nCheck that '${image}' is in the list of available actions at https://actions.opensafely.org`,
        );
      }
      if (error instanceof GitUnknownRefError) {
        throw new ReusableActionError(`'${tag}' is not a tag listed in ${repoUrl}/tags`);
      }
      throw error;
    }

    try {
      await validateBranchAndCommit(repoUrl, commit, "main", this.git);
    } catch (error) {
      if (error instanceof GithubValidationError) {
        throw new ReusableActionError(
          `tag '${tag}' has not yet been approved for use (not merged into main branch)`,
        );
      }
      if (error instanceof GitError)
        throw new ReusableActionError(`error validating '${commit}' in ${repoUrl}`);
      throw error;
    }

    let actionYaml: Buffer | null;
    try {
      actionYaml = await readFileFromRepo(repoUrl, commit, "action.yaml", this.git);
    } catch (error) {
      if (error instanceof GitError)
        throw new ReusableActionError(`error reading '${commit}' from ${repoUrl}`);
      throw error;
    }
    if (actionYaml === null) {
      throw new ReusableActionError(
        `${repoUrl}/tree/${tag} doesn't look like a valid action (no 'action.yaml' file present)`,
      );
    }
    return { repoUrl, commit, runArgs: runArgsOf(actionYaml.toString("utf8"), repoUrl) };
  }
}

/** The action's run command from action.yaml, checked; any problem is the action's fault, reported as such. */
function runArgsOf(text: string, repoUrl: string): string[] {
  let spec: unknown;
  try {
    spec = parseYaml(text, { maxAliasCount: 100 });
  } catch (error) {
    throw invalidAction(repoUrl, "YAMLError", error instanceof Error ? error.message : String(error));
  }
  try {
    return checkedRunArgs(spec);
  } catch (error) {
    if (error instanceof ReusableActionError)
      throw invalidAction(repoUrl, "ReusableActionError", error.message);
    throw error;
  }
}

function checkedRunArgs(spec: unknown): string[] {
  const run = spec && typeof spec === "object" ? (spec as Record<string, unknown>).run : undefined;
  if (run === undefined) throw new ReusableActionError("Missing `run` key in 'action.yaml'");
  let runArgs: string[];
  try {
    runArgs = shlexSplit(String(run));
  } catch (error) {
    throw new ReusableActionError(
      `Invalid \`run\` command: ${error instanceof Error ? error.message : error}`,
    );
  }
  const [runtime, ...rest] = (runArgs[0] ?? "").split(":");
  if (rest.length !== 1)
    throw new ReusableActionError(`Invalid \`run\` command: expected image:tag, got '${run}'`);
  if (!ALLOWED_IMAGES.has(runtime!)) throw new ReusableActionError(`Unrecognised runtime: ${runtime}`);
  if (isDatabaseAction(runArgs)) {
    throw new ReusableActionError("Re-usable actions cannot run commands which access the database");
  }
  return runArgs;
}

function invalidAction(repoUrl: string, kind: string, message: string): ReusableActionError {
  return new ReusableActionError(
    `invalid action, please open an issue on ${repoUrl}/issues\n\n  ${kind}: ${message}`,
  );
}
