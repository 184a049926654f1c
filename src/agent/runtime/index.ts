/**
 * Choosing and building the agent's container runtime. `EXECUTOR` names it; when unset, `detectRuntime` picks
 * `docker` if an engine answers and `local` otherwise (DECISIONS 13: the local runtime is for development).
 */
import { DockerRuntime, type DockerRuntimeOptions } from "./docker.js";
import { LocalRuntime, type LocalRuntimeOptions } from "./local.js";
import { type Runtime, RuntimeError, type RuntimeKind } from "./types.js";

export { DockerRuntime, type DockerRuntimeOptions, socketPathFromDockerHost } from "./docker.js";
export { DEFAULT_LOCAL_COMMANDS, LocalRuntime, type LocalRuntimeOptions } from "./local.js";
export { parseMemoryLimit } from "./memory.js";
export * from "./types.js";

export interface RuntimeOptions {
  docker?: DockerRuntimeOptions;
  /** Required when the kind is `local`. */
  local?: LocalRuntimeOptions;
}

export function createRuntime(kind: RuntimeKind, options: RuntimeOptions = {}): Runtime {
  if (kind === "docker") return new DockerRuntime(options.docker);
  if (!options.local) throw new RuntimeError("the local runtime needs its options (at least stateDir)");
  return new LocalRuntime(options.local);
}

/** `docker` when a Docker engine answers on the socket within a few seconds, else `local`. */
export async function detectRuntime(
  options: Pick<DockerRuntimeOptions, "socketPath"> = {},
): Promise<RuntimeKind> {
  const probe = new DockerRuntime({ ...options, callTimeoutMs: 3000 });
  return (await probe.ping()) ? "docker" : "local";
}
