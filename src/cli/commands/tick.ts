import type { Command } from "commander";
import { createLogger } from "../../app/logger.js";
import { createScheduler } from "../../app/scheduler.js";
import { systemClock } from "../../domain/clock.js";
import { withStorage } from "../context.js";

export function registerTick(program: Command): void {
  program
    .command("tick")
    .description("run exactly one scheduler pass on the database and exit")
    .action(async () => {
      await withStorage(async (storage, config) => {
        const log = createLogger(config.logLevel);
        const report = await createScheduler(config, storage, systemClock, log, undefined).tick();
        log.info(report, "scheduler pass done");
        // The pass could save nothing (the database's disk is full, logged): a script must not read it as done.
        if (report.storageFull) process.exitCode = 1;
      });
    });
}
