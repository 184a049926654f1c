import type { Command } from "commander";
import { runController } from "../../app/run.js";
import { loadConfig } from "../../config/index.js";
import { warnAboutConfig } from "../context.js";

export function registerController(program: Command): void {
  program
    .command("controller")
    .description("serve the RAP API and the Task API on HOST:PORT and run the scheduler loop")
    .action(async () => {
      const config = loadConfig();
      warnAboutConfig(config);
      await runController(config);
    });
}
