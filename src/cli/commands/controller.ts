import type { Command } from "commander";

export function registerController(program: Command): void {
  program
    .command("controller")
    .description("serve the RAP API and the Task API on HOST:PORT and run the scheduler loop")
    .action(async () => {
      const { runController } = await import("../../app/run.js");
      const { loadConfig } = await import("../../config/index.js");
      const { warnAboutConfig } = await import("../context.js");
      const config = loadConfig();
      warnAboutConfig(config);
      await runController(config);
    });
}
