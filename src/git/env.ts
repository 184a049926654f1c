/**
 * The environment every git process runs with. It is built from scratch rather than inherited, so nothing of the
 * user's setup takes part: no global or system config (credential helpers, url.insteadOf rewrites, hooks paths),
 * no askpass programs, no ~/.netrc (HOME is the cache directory), no GIT_TRACE* that would print headers. Nor
 * does git look for a repository around the working directory: the cache may live inside a checkout (the default
 * WORKDIR is `<repo>/workdir`), whose config could otherwise rewrite URLs.
 */
import { dirname } from "node:path";

/**
 * The only variables taken from the parent process: where git is, and the operator's outbound proxy and CA
 * settings, which network access from a backend may need.
 */
const INHERITED = [
  "PATH",
  "http_proxy",
  "https_proxy",
  "HTTPS_PROXY",
  "all_proxy",
  "ALL_PROXY",
  "no_proxy",
  "NO_PROXY",
  "GIT_SSL_CAINFO",
  "GIT_SSL_CAPATH",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "CURL_CA_BUNDLE",
] as const;

const PROXY_VARS = new Set(["http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]);
const LOOPBACK = "127.0.0.1,localhost,::1";

export interface GitEnvOptions {
  /** The cache root: HOME for git, and the ceiling of repository discovery. */
  readonly reposDir: string;
  /** The repository to operate on (GIT_DIR), when there is one. */
  readonly gitDir?: string;
  /** The one transport protocol this process may use, or none for commands that stay on disk. */
  readonly protocol?: "https" | "http" | "file";
  /** Extra configuration (key, value) for this process. */
  readonly config?: ReadonlyArray<readonly [string, string]>;
}

export function gitEnv(options: GitEnvOptions): Record<string, string> {
  const env: Record<string, string> = {};
  let proxied = false;
  for (const name of INHERITED) {
    const value = process.env[name];
    if (value === undefined) continue;
    env[name] = value;
    if (PROXY_VARS.has(name)) proxied = true;
  }
  if (proxied) {
    // Loopback traffic (local test servers) must never be sent through an outbound proxy.
    const existing = env.no_proxy ?? env.NO_PROXY;
    env.no_proxy = env.NO_PROXY = existing ? `${existing},${LOOPBACK}` : LOOPBACK;
  }
  Object.assign(env, {
    HOME: options.reposDir,
    GIT_CEILING_DIRECTORIES: dirname(options.reposDir),
    LC_ALL: "C",
    LANG: "C",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_TERMINAL_PROMPT: "0",
    GCM_INTERACTIVE: "never",
  });
  if (options.gitDir) env.GIT_DIR = options.gitDir;
  const config: Array<readonly [string, string]> = [
    // Transports are opt-in per process: a rewritten or unexpected URL cannot reach ext::, ssh:// or file://.
    ["protocol.allow", "never"],
    ...(options.protocol ? [[`protocol.${options.protocol}.allow`, "always"] as const] : []),
    ["credential.helper", ""],
    // Automatic gc after a fetch runs inside that fetch (under its timeout and our lock), not detached.
    ["gc.autoDetach", "false"],
    ...(options.config ?? []),
  ];
  env.GIT_CONFIG_COUNT = String(config.length);
  config.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  return env;
}
