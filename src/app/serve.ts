/**
 * `rap serve`: the whole system on one machine, in one process: the controller (RAP API, Task API, scheduler loop)
 * and one agent per configured backend, talking to the controller over loopback HTTP exactly as a separate agent
 * would. It is the development and try-it-out command, so with no configuration at all it still starts: a `test`
 * backend, a client token and an operator token (the dashboard's login) generated into WORKDIR, local git repositories allowed, no image registry, and Docker when
 * an engine answers (the local executor otherwise). Everything it chose is said at start-up.
 *
 * Shutdown stops taking work first (the scheduler loop), then the agents (each finishes the handlers in flight),
 * then the HTTP server and the database. Job containers and local job processes keep running: on the next start the
 * agents find them and carry on, so every RAP continues.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { agentRuntime, LOCAL_RUNTIME_WARNING, runAgent } from "../agent/index.js";
import { followJobOutput } from "../agent/live-output.js";
import { ImageUnavailableError, type Runtime } from "../agent/runtime/index.js";
import { type AgentConfig, agentConfigWarnings, loadAgentConfig } from "../config/agent.js";
import {
  backendPrefix,
  type Config,
  configWarnings,
  describeDatabase,
  type Env,
  loadConfig,
  readBackends,
  readWorkdir,
} from "../config/index.js";
import { DASHBOARD_PATH } from "../http/routes/dashboard.js";
import { RAP_API_PREFIX } from "../http/routes/rap-api.js";
import { type Controller, openController } from "./controller.js";
import { createLogger } from "./logger.js";
import { checkNodeVersion } from "./node-version.js";
import { docsUrl, listen } from "./run.js";

/** The files in WORKDIR holding the tokens `rap serve` generated (kept across restarts). */
const CLIENT_TOKEN_FILE = "client-token";
const OPERATOR_TOKEN_FILE = "operator-token";

/**
 * What `rap serve` sets when the variable is unset. Images cannot be pulled or looked up from a development
 * machine (the agents run the local tags), and the scheduled database tasks have no database to ask.
 */
const SERVE_DEFAULTS: Readonly<Record<string, string>> = {
  BACKENDS: "test",
  ALLOW_LOCAL_GIT_REPOS: "true",
  RESOLVE_IMAGE_DIGESTS: "false",
  MAINTENANCE_ENABLED_BACKENDS: "",
  DATA_CHECK_ENABLED_BACKENDS: "",
};

export interface ServeOptions {
  /** The process log (default: JSON lines on stdout at LOGLEVEL). */
  log?: Logger;
  /** Where the start-up notes for a person go (default: stderr). */
  say?: (line: string) => void;
  /**
   * Images (`python:v2`, under DOCKER_REGISTRY) the jobs will need. When the executor is chosen automatically and
   * the Docker engine lacks one, the local executor is used instead (nothing can be pulled on a development
   * machine, so every job would fail).
   */
  images?: readonly string[];
}

export interface Serving {
  readonly config: Config;
  readonly controller: Controller;
  /** `http://host:port`, reachable from this machine. */
  readonly url: string;
  readonly runtime: Runtime;
  /** The in-process agents' settings, one per backend in BACKENDS order. */
  readonly agentConfigs: readonly AgentConfig[];
  /** The generated client token, when no client token was configured; null otherwise (never printed then). */
  readonly generatedClientToken: string | null;
  /** Stops the scheduler, then the agents, then the server; safe to call more than once. */
  stop(): Promise<void>;
}

/** Starts the controller and the agents; resolves once the server is listening and every loop runs. */
export async function startServe(env: Env, cwd: string, options: ServeOptions = {}): Promise<Serving> {
  checkNodeVersion();
  const say = options.say ?? ((line: string) => console.error(line));
  const defaulted = Object.keys(SERVE_DEFAULTS).filter((name) => env[name] === undefined);
  const base: Record<string, string | undefined> = { ...SERVE_DEFAULTS, ...env };

  const workdir = readWorkdir(base, cwd);
  const backends = readBackends(base);
  const generatedClientToken = backends.some((b) => (base[`${backendPrefix(b)}_CLIENT_TOKENS`] ?? "") !== "")
    ? null
    : await generatedToken(workdir, CLIENT_TOKEN_FILE);
  const generatedOperatorToken =
    (base.OPERATOR_TOKENS ?? "") !== "" ? null : await generatedToken(workdir, OPERATOR_TOKEN_FILE);
  if (generatedOperatorToken !== null) base.OPERATOR_TOKENS = generatedOperatorToken;
  for (const backend of backends) {
    const prefix = backendPrefix(backend);
    if (generatedClientToken !== null) base[`${prefix}_CLIENT_TOKENS`] = generatedClientToken;
    // The reference's insecure default token would let anyone on this machine act as the agent; the in-process
    // agent is the only one that needs this token, so it gets a fresh one every run.
    if ((base[`${prefix}_JOB_SERVER_TOKEN`] ?? "token") === "token") {
      base[`${prefix}_JOB_SERVER_TOKEN`] = randomBytes(24).toString("hex");
    }
  }
  const config = loadConfig(base, cwd);
  for (const warning of configWarnings(config)) say(`warning: ${warning}`);

  const endpoint = `http://${loopbackHost(config.host)}:${config.port}/`;
  const agentConfigs: AgentConfig[] = config.backends.map((backend) =>
    loadAgentConfig(
      {
        ...base,
        BACKEND: backend,
        CONTROLLER_TASK_API_ENDPOINT: endpoint,
        CONTROLLER_TASK_API_TOKEN: config.backend[backend]!.jobServerToken,
      },
      cwd,
    ),
  );
  const { runtime, missingImages } = await chooseRuntime(agentConfigs[0]!, options.images ?? []);
  // The agents' own warnings (jobs running as root) concern containers only.
  if (runtime.kind !== "local")
    for (const warning of agentConfigWarnings(agentConfigs[0]!)) say(`warning: ${warning}`);

  const log = options.log ?? createLogger(config.logLevel);
  // The agents share this machine: the live-log stream reads their jobs' containers directly.
  const controller = await openController(config, {
    log,
    jobOutput: (job, signal) => followJobOutput(runtime, job, signal),
  });
  const url = await listen(controller);
  controller.scheduler.start();
  const stopAgents = new AbortController();
  const agents = agentConfigs.map((agentConfig) =>
    runAgent(agentConfig, runtime, {
      signal: stopAgents.signal,
      log: log.child({ service: "agent", backend: agentConfig.backend }),
    }).catch((error: unknown) =>
      log.error({ err: error, backend: agentConfig.backend }, "the agent stopped after an error"),
    ),
  );

  say(`rap serve: the controller and an agent for ${config.backends.join(", ")}, in one process`);
  say(`  RAP API:   ${docsUrl(url)} (its documentation; the endpoints are under ${RAP_API_PREFIX}/)`);
  say(`  database:  ${describeDatabase(config.database)}`);
  say(`  executor:  ${executorNote(runtime, agentConfigs[0]!, missingImages)}`);
  if (runtime.kind === "local") say(LOCAL_RUNTIME_WARNING);
  if (defaulted.includes("ALLOW_LOCAL_GIT_REPOS")) {
    say("  ALLOW_LOCAL_GIT_REPOS=true: repo_url may be a local path (rap serve is a development command)");
  }
  if (generatedClientToken !== null) {
    say(`  client token (kept in ${join(workdir, CLIENT_TOKEN_FILE)}): ${generatedClientToken}`);
    say("  try it:");
    say(`    curl -s -H 'Authorization: ${generatedClientToken}' ${url}${RAP_API_PREFIX}/backend/status/`);
  }
  say(`  dashboard: ${url}${DASHBOARD_PATH}`);
  say(
    generatedOperatorToken === null
      ? "  operator token: one of OPERATOR_TOKENS (the dashboard's login, rap logs -f --controller)"
      : `  operator token (kept in ${join(workdir, OPERATOR_TOKEN_FILE)}): ${generatedOperatorToken}`,
  );

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await controller.scheduler.stop();
      stopAgents.abort();
      await Promise.all(agents);
      await controller.close();
    })();
    return stopping;
  };
  return { config, controller, url, runtime, agentConfigs, generatedClientToken, stop };
}

/** The token in WORKDIR/{name}, created (readable by this user only) on first use. */
async function generatedToken(workdir: string, name: string): Promise<string> {
  const file = join(workdir, name);
  try {
    const existing = (await readFile(file, "utf8")).trim();
    if (existing !== "") return existing;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  await mkdir(workdir, { recursive: true });
  const token = randomBytes(20).toString("hex");
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  return token;
}

/** A host the agents can reach the server on: loopback when it listens on every interface. */
function loopbackHost(host: string): string {
  if (host === "0.0.0.0" || host === "::" || host === "") return "127.0.0.1";
  return host.includes(":") ? `[${host}]` : host;
}

/** The agents' runtime, and the needed images a Docker engine lacked when that made it the local one. */
async function chooseRuntime(
  config: AgentConfig,
  images: readonly string[],
): Promise<{ runtime: Runtime; missingImages: string[] }> {
  const runtime = await agentRuntime(config);
  if (runtime.kind !== "docker" || config.executor !== null) return { runtime, missingImages: [] };
  const missingImages: string[] = [];
  for (const image of images) {
    const reference = `${config.dockerRegistry}/${image}`;
    try {
      await runtime.ensureImage(reference, null);
    } catch (error) {
      if (!(error instanceof ImageUnavailableError)) throw error;
      missingImages.push(reference);
    }
  }
  if (missingImages.length === 0) return { runtime, missingImages };
  return { runtime: await agentRuntime({ ...config, executor: "local" }), missingImages };
}

function executorNote(runtime: Runtime, config: AgentConfig, missingImages: readonly string[]): string {
  if (missingImages.length > 0) {
    return (
      `local (a Docker engine answered, but without ${missingImages.join(", ")}; ` +
      "scripts/build-test-images.sh builds it)"
    );
  }
  if (runtime.kind === "slurm") {
    return `slurm (EXECUTOR=slurm: each job a Slurm batch job, its container run by a node's ${config.slurm.engine})`;
  }
  if (runtime.kind === "docker") {
    return config.executor === "docker"
      ? "docker (EXECUTOR=docker)"
      : "docker (a Docker engine answered; EXECUTOR=local runs actions as host processes instead)";
  }
  return config.executor === "local"
    ? "local (EXECUTOR=local)"
    : "local (no Docker engine answered; start one, or set EXECUTOR=docker to require it)";
}
