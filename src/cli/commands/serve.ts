import type { Command } from "commander";
import { runController } from "../../app/run.js";
import { loadConfig } from "../../config/index.js";
import { warnAboutConfig } from "../context.js";

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description(
      "run everything on one machine: for now the controller (API and scheduler); agents join it in a later release",
    )
    .action(async () => {
      const config = loadConfig();
      warnAboutConfig(config);
      await runController(config);
    });
}
