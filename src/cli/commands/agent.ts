import type { Command } from "commander";
import { pino } from "pino";
import { runAgent } from "../../agent/index.js";
import {
  createRuntime,
  detectRuntime,
  type Runtime,
  type RuntimeKind,
  socketPathFromDockerHost,
} from "../../agent/runtime/index.js";
import { type AgentConfig, agentConfigWarnings, loadAgentConfig } from "../../config/agent.js";

const LOCAL_RUNTIME_WARNING =
  "warning: EXECUTOR=local runs every action as a process on this machine, as this user, with no isolation, " +
  "no network or resource limits: for development only, never on a backend with real data";

export function registerAgent(program: Command): void {
  program
    .command("agent")
    .description("run the agent for one backend: poll the controller's Task API and run its jobs")
    .requiredOption("--backend <backend>", "the backend this agent runs jobs for (overrides BACKEND)")
    .action(async (options: { backend: string }) => {
      const config = loadAgentConfig({ ...process.env, BACKEND: options.backend }, process.cwd());
      for (const warning of agentConfigWarnings(config)) console.error(`warning: ${warning}`);
      const runtime = await buildRuntime(config);
      if (runtime.kind === "local") console.error(LOCAL_RUNTIME_WARNING);
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      const log = pino({ base: { service: "agent", backend: config.backend } });
      try {
        await runAgent(config, runtime, { signal: stop.signal, log });
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
    });
}

async function buildRuntime(config: AgentConfig): Promise<Runtime> {
  const socketPath = socketPathFromDockerHost(config.dockerHost ?? undefined);
  const kind: RuntimeKind = config.executor ?? (await detectRuntime({ socketPath }));
  return createRuntime(kind, {
    docker: {
      socketPath,
      registry: config.dockerRegistry,
      proxy: config.dockerProxy,
      pullTimeoutMs: config.imagePullTimeoutMs,
    },
    local: {
      stateDir: `${config.storage.workdir}/local-runtime`,
      commands: config.localExecutorCommands,
    },
  });
}
