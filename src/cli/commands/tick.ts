import type { Command } from "commander";
import { systemClock } from "../../domain/clock.js";
import { describeLease, LeaseHeldError } from "../../scheduler/lease.js";
import type { PassReport, Scheduler } from "../../scheduler/scheduler.js";

/** One pass; with `wait`, first waits (trying every loop interval) for another scheduler to give up the lease. */
async function passWhenFree(scheduler: Scheduler, wait: boolean, intervalMs: number): Promise<PassReport> {
  for (;;) {
    try {
      return await scheduler.tick();
    } catch (error) {
      if (!(wait && error instanceof LeaseHeldError)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.max(intervalMs, 100)));
    }
  }
}

export function registerTick(program: Command): void {
  program
    .command("tick")
    .description("run exactly one scheduler pass on the database and exit")
    .option("--wait", "when another scheduler holds the lease, wait for it instead of exiting", false)
    .action(async (options: { wait: boolean }) => {
      const [{ createLogger }, { createScheduler }, { withStorage }] = await Promise.all([
        import("../../app/logger.js"),
        import("../../app/scheduler.js"),
        import("../context.js"),
      ]);
      await withStorage(async (storage, config) => {
        const log = createLogger(config.logLevel);
        const scheduler = createScheduler(config, storage, systemClock, log, undefined);
        try {
          const report = await passWhenFree(scheduler, options.wait, config.scheduler.loopIntervalMs);
          log.info(report, "scheduler pass done");
          // The pass could save nothing (the database's disk is full, logged): a script must not read it as done.
          if (report.storageFull) process.exitCode = 1;
        } catch (error) {
          if (!(error instanceof LeaseHeldError)) throw error;
          console.error(
            `Another scheduler holds the lease (${describeLease(error.lease)}): no pass was run. ` +
              "Stop it first, or run `rap tick --wait` to run the pass once it is free.",
          );
          process.exitCode = 1;
        } finally {
          await scheduler.releaseLease();
        }
      });
    });
}
