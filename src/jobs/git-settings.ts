import { join } from "node:path";
import type { Config } from "../config/index.js";
import type { GitLogger, GitSettings } from "../git/index.js";

/** No single git process may run longer than this; a full-history fetch of a large study repo fits well within. */
const GIT_TIMEOUT_MS = 10 * 60 * 1000;

/** The controller's git cache. */
export function controllerReposDir(config: Config): string {
  return join(config.workdir, "repos");
}

/** The git module's settings for the controller, from the configuration. */
export function gitSettingsFor(
  config: Config,
  log?: GitLogger,
  onFetch?: GitSettings["onFetch"],
): GitSettings {
  return {
    reposDir: controllerReposDir(config),
    githubProxyDomain: config.githubProxyDomain,
    privateRepoAccessToken: config.privateRepoAccessToken,
    allowedGithubOrgs: config.allowedGithubOrgs,
    allowLocalGitRepos: config.allowLocalGitRepos,
    timeoutMs: GIT_TIMEOUT_MS,
    ...(log ? { log } : {}),
    ...(onFetch ? { onFetch } : {}),
  };
}
