import type { Command } from "commander";

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description(
      "run everything on one machine: the controller (API and scheduler) and an agent for each backend; " +
        "with no configuration, a `test` backend and a generated client token",
    )
    .action(async () => {
      const { untilShutdownSignal } = await import("../../app/run.js");
      const { startServe } = await import("../../app/serve.js");
      const serving = await startServe(process.env, process.cwd());
      await untilShutdownSignal(serving.controller.log, serving.stop);
    });
}
