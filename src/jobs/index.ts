/** Creating a RAP's jobs from a request: the pipeline behind `POST rap/create/` and `rap add-job`. */
import type { Config } from "../config/index.js";
import type { Db } from "../db/index.js";
import type { GitLogger } from "../git/index.js";
import { type CreateOutcome, createJobs } from "./create.js";
import { gitSettingsFor } from "./git-settings.js";
import { ProjectCache } from "./project-cache.js";
import type { CreateRequest } from "./request.js";

export { type CreateOutcome, createJobs } from "./create.js";
export { NothingToDoError } from "./errors.js";
export type { CreateRequest } from "./request.js";

/** The create pipeline bound to a database and the configuration, as the API server uses it. */
export function jobCreator(db: Db, config: Config, log?: GitLogger): (request: CreateRequest) => Promise<CreateOutcome> {
  const deps = { db, git: gitSettingsFor(config, log), backends: config.backends, projects: new ProjectCache() };
  return (request) => createJobs(deps, request);
}
