/**
 * The agent's container runtimes, a registry keyed by `EXECUTOR`: a new runtime is one file and one entry in
 * RUNTIMES. When EXECUTOR is unset, `detectRuntime` picks `docker` if an engine answers and `local` otherwise
 * (DECISIONS 13: the local runtime is for development).
 */
import { DockerRuntime, type DockerRuntimeOptions } from "./docker.js";
import { LocalRuntime, type LocalRuntimeOptions } from "./local.js";
import { SlurmRuntime, type SlurmRuntimeOptions } from "./slurm.js";
import { type Runtime, RuntimeError, type RuntimeKind } from "./types.js";

export { DockerRuntime, type DockerRuntimeOptions, socketPathFromDockerHost } from "./docker.js";
export { DEFAULT_LOCAL_COMMANDS, LocalRuntime, type LocalRuntimeOptions } from "./local.js";
export { parseMemoryLimit } from "./memory.js";
export { SlurmRuntime, type SlurmRuntimeOptions } from "./slurm.js";
export * from "./types.js";

/** Each runtime's own options, by kind; only the chosen runtime's are read. */
export interface RuntimeOptions {
  docker?: DockerRuntimeOptions;
  /** Required when the kind is `local`. */
  local?: LocalRuntimeOptions;
  /** Required when the kind is `slurm`. */
  slurm?: SlurmRuntimeOptions;
}

const RUNTIMES: { readonly [K in RuntimeKind]: (options: RuntimeOptions) => Runtime } = {
  docker: (options) => new DockerRuntime(options.docker),
  local: (options) =>
    new LocalRuntime(required(options.local, "the local runtime needs its options (at least stateDir)")),
  slurm: (options) =>
    new SlurmRuntime(required(options.slurm, "the slurm runtime needs its options (at least sharedDir)")),
};

export function createRuntime(kind: RuntimeKind, options: RuntimeOptions = {}): Runtime {
  return RUNTIMES[kind](options);
}

function required<T>(options: T | undefined, message: string): T {
  if (options === undefined) throw new RuntimeError(message);
  return options;
}

/** `docker` when a Docker engine answers on the socket within a few seconds, else `local`. */
export async function detectRuntime(
  options: Pick<DockerRuntimeOptions, "socketPath"> = {},
): Promise<RuntimeKind> {
  const probe = new DockerRuntime({ ...options, callTimeoutMs: 3000 });
  return (await probe.ping()) ? "docker" : "local";
}
