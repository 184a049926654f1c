/** Git access settings, the same for the controller and the agent (reference/controller.md §8). */
import { type Env, readList, readString, readTrue } from "./env.js";

export interface GitAccess {
  /** Let `repo_url` be an absolute local path (development only). */
  readonly allowLocalGitRepos: boolean;
  readonly allowedGithubOrgs: readonly string[];
  /** Every git network call goes to this host instead of github.com. */
  readonly githubProxyDomain: string;
  /** Sent only to the proxy; never logged. */
  readonly privateRepoAccessToken: string;
}

export function readGitAccess(env: Env): GitAccess {
  return {
    allowLocalGitRepos: readTrue(env, "ALLOW_LOCAL_GIT_REPOS"),
    allowedGithubOrgs: Object.freeze(
      readList(env, "ALLOWED_GITHUB_ORGS", ["opensafely", "opensafely-actions"]),
    ),
    githubProxyDomain: readString(env, "GITHUB_PROXY_DOMAIN", "github-proxy.opensafely.org"),
    privateRepoAccessToken: readString(env, "PRIVATE_REPO_ACCESS_TOKEN", ""),
  };
}
