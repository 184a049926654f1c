/** Creating a RAP's jobs from a request: the pipeline behind `POST rap/create/` and `rap add-job`. */
import type { Config } from "../config/index.js";
import type { Storage } from "../db/storage.js";
import type { Clock } from "../domain/clock.js";
import type { GitLogger, GitSettings } from "../git/index.js";
import { createJobs } from "./create.js";
import { gitSettingsFor } from "./git-settings.js";
import { ProjectCache } from "./project-cache.js";
import type { CreateRequest } from "./request.js";

export { type CreateOutcome, createJobs } from "./create.js";
export { NothingToDoError } from "./errors.js";
export { controllerReposDir } from "./git-settings.js";
export type { CreateRequest } from "./request.js";

/** What the API needs to answer a create: how many jobs were made, or that another request made them first. */
export type CreateCount = { kind: "created"; count: number } | { kind: "already-created"; count: number };

/**
 * The create pipeline bound to a database and the configuration, as the API server uses it: one parsed-project
 * cache for the server's lifetime. NothingToDoError and refusals are thrown for the API to answer.
 */
export function jobCreator(
  storage: Storage,
  config: Config,
  clock: Clock,
  log?: GitLogger,
  /** Told of every git fetch's duration (metrics). */
  onFetch?: GitSettings["onFetch"],
): (request: CreateRequest) => Promise<CreateCount> {
  const deps = {
    storage,
    clock,
    git: gitSettingsFor(config, log, onFetch),
    backends: config.backends,
    maxRunCommandBytes: config.limits.maxRunCommandBytes,
    projects: new ProjectCache(),
  };
  return async (request) => {
    const outcome = await createJobs(deps, request);
    return outcome.kind === "created" ? { kind: "created", count: outcome.jobs.length } : outcome;
  };
}
