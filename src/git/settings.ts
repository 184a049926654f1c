/** What the git module needs to know, passed in by the caller (the module never reads process.env). */

/** Structured logger; a pino logger fits. Every message and field is redacted before it gets here. */
export interface GitLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface GitSettings {
  /** The bare-repository cache, `<WORKDIR>/repos`. */
  readonly reposDir: string;
  /**
   * Where `https://github.com` requests go instead (GITHUB_PROXY_DOMAIN). A host name such as the default
   * `github-proxy.opensafely.org` means `https://<host>`; a base URL with a scheme (`http://127.0.0.1:8123`) is used
   * as given, which is how tests point the GitHub code path at a local server.
   */
  readonly githubProxyDomain: string;
  /** PRIVATE_REPO_ACCESS_TOKEN; empty for none. Sent only over https, only to the proxy host. */
  readonly privateRepoAccessToken: string;
  /** The user name sent with the token; see githubUsername(). Defaults to the controller's. */
  readonly githubUsername?: string;
  /** ALLOWED_GITHUB_ORGS. */
  readonly allowedGithubOrgs: readonly string[];
  /** ALLOW_LOCAL_GIT_REPOS: absolute local paths may be used as repository URLs (development and tests). */
  readonly allowLocalGitRepos: boolean;
  /** Upper bound for any single git process; it is then terminated. */
  readonly timeoutMs: number;
  /** Pauses between fetch attempts after a transient network error. Default: the reference's 4, 8, 16, 32 s. */
  readonly fetchRetryDelaysMs?: readonly number[];
  readonly log?: GitLogger;
  /** Told how long each fetch of a commit took, retries included, and whether it succeeded (metrics). */
  readonly onFetch?: (seconds: number, ok: boolean) => void;
}

export const DEFAULT_GITHUB_PROXY_DOMAIN = "github-proxy.opensafely.org";
export const DEFAULT_ALLOWED_GITHUB_ORGS: readonly string[] = ["opensafely", "opensafely-actions"];
export const DEFAULT_FETCH_RETRY_DELAYS_MS: readonly number[] = [4000, 8000, 16000, 32000];

/** The proxy logs show who fetched: `jobrunner-<BACKEND>` for an agent, `jobrunner-ctrl` for the controller. */
export function githubUsername(backend?: string): string {
  return backend ? `jobrunner-${backend}` : "jobrunner-ctrl";
}
