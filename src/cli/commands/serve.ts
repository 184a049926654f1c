import type { Command } from "commander";
import { loadConfig } from "../../config/index.js";
import { runServer } from "../../http/server.js";
import { warnAboutConfig } from "../context.js";

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description(
      "run everything on one machine; for now the same as `rap controller` (the scheduler and agent join it in later releases)",
    )
    .action(async () => {
      const config = loadConfig();
      warnAboutConfig(config);
      await runServer({ config });
    });
}
