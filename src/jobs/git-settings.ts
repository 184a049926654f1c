import { join } from "node:path";
import type { Config } from "../config/index.js";
import type { GitLogger, GitSettings } from "../git/index.js";

/** No single git process may run longer than this; a full-history fetch of a large study repo fits well within. */
const GIT_TIMEOUT_MS = 10 * 60 * 1000;

/** The git module's settings for the controller, from the configuration. */
export function gitSettingsFor(
  config: Config,
  log?: GitLogger,
  onFetch?: GitSettings["onFetch"],
): GitSettings {
  return {
    reposDir: join(config.workdir, "repos"),
    githubProxyDomain: config.githubProxyDomain,
    privateRepoAccessToken: config.privateRepoAccessToken,
    allowedGithubOrgs: config.allowedGithubOrgs,
    allowLocalGitRepos: config.allowLocalGitRepos,
    timeoutMs: GIT_TIMEOUT_MS,
    ...(log ? { log } : {}),
    ...(onFetch ? { onFetch } : {}),
  };
}
