import type { Command } from "commander";
import { loadConfig } from "../../config/index.js";
import { runServer } from "../../http/server.js";
import { warnAboutConfig } from "../context.js";

export function registerController(program: Command): void {
  program
    .command("controller")
    .description("serve the RAP API on HOST:PORT (the scheduler loop joins it in a later release)")
    .action(async () => {
      const config = loadConfig();
      warnAboutConfig(config);
      await runServer({ config });
    });
}
