/**
 * Turns a repository URL into what git is given. Only two kinds of location are ever contacted:
 * `https://github.com/<org>/<repo>` (sent to the GitHub proxy instead) and, when local repositories are allowed,
 * an absolute local path. Everything else (other schemes and hosts, `file://`, scp-style `host:path`, relative
 * paths, `<transport>::<address>`) is refused here, before any process runs.
 */
import { join } from "node:path";
import { GitError, GitUrlNotAllowedError } from "./errors.js";
import { displayUrl } from "./redact.js";
import type { GitSettings } from "./settings.js";
import { githubUsername } from "./settings.js";

export interface Remote {
  /** The URL as the caller gave it, with any userinfo masked: the form used in every message. */
  readonly display: string;
  /** The URL or path handed to git. */
  readonly gitUrl: string;
  /** The only git transport protocol allowed for this remote (`protocol.<name>.allow`). */
  readonly protocol: "https" | "http" | "file";
  /** Extra git configuration for network commands (the token header), as key/value pairs. */
  readonly config: ReadonlyArray<readonly [string, string]>;
  /** This repository's bare cache directory. */
  readonly cacheDir: string;
}

// GitHub's own alphabet for organisation and repository names.
const GITHUB_URL = /^https:\/\/github\.com\/([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)\/?$/;

export function resolveRemote(repoUrl: string, settings: GitSettings): Remote {
  const display = displayUrl(repoUrl, secretsOf(settings));
  const cacheDir = join(settings.reposDir, `${cacheName(repoUrl)}.git`);
  if (repoUrl.startsWith("/")) {
    if (!settings.allowLocalGitRepos) {
      throw new GitUrlNotAllowedError(display, "local repositories are not enabled (ALLOW_LOCAL_GIT_REPOS)");
    }
    // No process can be given a NUL in an argument.
    if (repoUrl.includes("\0"))
      throw new GitUrlNotAllowedError(display, "a path cannot contain a NUL character");
    return { display, gitUrl: repoUrl, protocol: "file", config: [], cacheDir };
  }
  const match = GITHUB_URL.exec(repoUrl);
  const org = match?.[1];
  const repo = match?.[2];
  if (!org || !repo || isDotSegment(org) || isDotSegment(repo)) {
    throw new GitUrlNotAllowedError(
      display,
      "only https://github.com/<organisation>/<repository>, or an absolute path when local repositories are enabled",
    );
  }
  const proxy = proxyBase(settings.githubProxyDomain);
  return {
    display,
    gitUrl: `${proxy.base}/${org}/${repo}`,
    protocol: proxy.protocol,
    config: tokenConfig(proxy.base, proxy.protocol, settings),
    cacheDir,
  };
}

/**
 * The reference's cache name: the last path segment without `.git`. Repositories with the same name share a cache,
 * which is harmless (it is only a store of commits). A name that is empty or a dot segment (`/src/repo/.git`) falls
 * back to `repo` so it always stays inside reposDir.
 */
function cacheName(repoUrl: string): string {
  const path = repoUrl.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]*/, "").replace(/[?#].*$/s, "");
  const segments = path.split("/").filter((s) => s !== "");
  const name = (segments.at(-1) ?? "").replace(/\.git$/, "");
  return name === "" || isDotSegment(name) ? "repo" : name;
}

function isDotSegment(segment: string): boolean {
  return segment === "." || segment === "..";
}

function proxyBase(domain: string): { base: string; protocol: "https" | "http" } {
  const withScheme = domain.includes("://") ? domain : `https://${domain}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new GitError(`Invalid GitHub proxy domain: ${displayUrl(domain)}`);
  }
  const protocol = url.protocol === "https:" ? "https" : url.protocol === "http:" ? "http" : null;
  if (!protocol || url.username || url.password || url.pathname !== "/" || url.search || url.hash) {
    throw new GitError(`Invalid GitHub proxy domain: ${displayUrl(domain)}`);
  }
  return { base: `${protocol}://${url.host}`, protocol };
}

/**
 * The reference puts `user:token@` into the URL. We send the same Basic credentials as an `http.extraHeader`
 * scoped to the proxy's URL instead, so the token never appears on a command line (readable by every local user
 * through /proc) or in git's own messages. As in the reference, only over https.
 */
function tokenConfig(
  base: string,
  protocol: "https" | "http",
  settings: GitSettings,
): ReadonlyArray<readonly [string, string]> {
  if (!settings.privateRepoAccessToken || protocol !== "https") return [];
  return [[`http.${base}/.extraHeader`, `Authorization: Basic ${basicCredentials(settings)}`]];
}

function basicCredentials(settings: GitSettings): string {
  const user = settings.githubUsername ?? githubUsername();
  return Buffer.from(`${user}:${settings.privateRepoAccessToken}`).toString("base64");
}

/** Every form in which the token could show up in output, for redaction. */
export function secretsOf(settings: GitSettings): string[] {
  const token = settings.privateRepoAccessToken;
  return token ? [token, basicCredentials(settings)] : [];
}
