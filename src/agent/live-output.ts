/**
 * A job's output as it is written, read from its container on this machine (the runtime's `follow`), line by line:
 * for `rap logs -f` on a backend's machine, the controller's live-log stream in `rap serve`, and the agent's
 * LOGS_TO_CONTROLLER batches.
 */
import { type AgentConfig, loadAgentConfig } from "../config/agent.js";
import type { Env } from "../config/index.js";
import { linesOf } from "../domain/log-lines.js";
import { agentRuntime, localRuntimeStateDir } from "./index.js";
import { LocalRuntime } from "./runtime/local.js";
import type { Runtime } from "./runtime/types.js";
import { containerName } from "./workspace/paths.js";

/** Longer lines are given in pieces: one line that never ends must not grow without bound on its way. */
export const MAX_LIVE_LINE_BYTES = 16 * 1024;

/** The job's output lines from `runtime`, as they are written, until its container ends. */
export function followJobOutput(
  runtime: Runtime,
  job: { readonly id: string },
  signal: AbortSignal,
): AsyncIterable<string> {
  return linesOf(runtime.follow(containerName(job.id), signal), MAX_LIVE_LINE_BYTES);
}

/**
 * The runtime that ran a job on this machine, configured as its agent is (WORKDIR, EXECUTOR, DOCKER_HOST): with
 * EXECUTOR unset, the local runtime when its state holds the job's container (as `rap serve` chooses it when the
 * Docker engine lacks the images), else Docker when an engine answers.
 */
export async function runtimeOfJob(
  env: Env,
  cwd: string,
  job: { id: string; backend: string },
): Promise<Runtime> {
  const config: AgentConfig = loadAgentConfig(
    {
      ...env,
      // Only where its containers are matters here, not which controller it talks to.
      BACKENDS: job.backend,
      BACKEND: job.backend,
      CONTROLLER_TASK_API_ENDPOINT: env.CONTROLLER_TASK_API_ENDPOINT || "http://127.0.0.1/",
    },
    cwd,
  );
  if (config.executor === null) {
    const local = new LocalRuntime({ stateDir: localRuntimeStateDir(config.storage.workdir) });
    if (await local.inspect(containerName(job.id))) return local;
  }
  return agentRuntime(config);
}
