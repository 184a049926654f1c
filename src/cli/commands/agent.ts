import type { Command } from "commander";

export function registerAgent(program: Command): void {
  program
    .command("agent")
    .description("run the agent for one backend: poll the controller's Task API and run its jobs")
    .requiredOption("--backend <backend>", "the backend this agent runs jobs for (overrides BACKEND)")
    .action(async (options: { backend: string }) => {
      const [
        { pino },
        { agentRuntime, LOCAL_RUNTIME_WARNING, runAgent },
        { agentConfigWarnings, loadAgentConfig },
      ] = await Promise.all([
        import("pino"),
        import("../../agent/index.js"),
        import("../../config/agent.js"),
      ]);
      const config = loadAgentConfig({ ...process.env, BACKEND: options.backend }, process.cwd());
      for (const warning of agentConfigWarnings(config)) console.error(`warning: ${warning}`);
      const runtime = await agentRuntime(config);
      if (runtime.kind === "local") console.error(LOCAL_RUNTIME_WARNING);
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      const log = pino({ level: config.logLevel, base: { service: "agent", backend: config.backend } });
      try {
        await runAgent(config, runtime, { signal: stop.signal, log });
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
    });
}
