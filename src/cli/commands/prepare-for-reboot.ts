import { createInterface } from "node:readline/promises";
import type { Command } from "commander";

const WARNING = `
== DANGER ZONE ==
This pauses the backend and stops every running job on it: each goes back to waiting and runs again, from the
start, once the backend is unpaused after the reboot.
`;

async function confirmed(): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return (await prompt.question("Are you sure you want to continue? (y/N) ")).trim() === "y";
  } finally {
    prompt.close();
  }
}

export function registerPrepareForReboot(program: Command): void {
  program
    .command("prepare-for-reboot")
    .description("pause a backend and stop its running jobs before a reboot (--status: is it safe yet?)")
    .requiredOption("--backend <backend>", "backend name")
    .option("--status", "only report whether the backend is ready to reboot", false)
    .option("-y, --yes", "do not ask for confirmation", false)
    .action(async (options: { backend: string; status: boolean; yes: boolean }) => {
      const [
        { createLogger },
        { prepareForReboot, rebootStatus },
        { statusLog },
        { backendArgument, withStorage },
      ] = await Promise.all([
        import("../../app/logger.js"),
        import("../../ops/reboot.js"),
        import("../../scheduler/log-observer.js"),
        import("../context.js"),
      ]);
      await withStorage(async (storage, config) => {
        const backend = backendArgument(config, options.backend);
        if (options.status) {
          process.stdout.write(await rebootStatus(storage, backend));
          return;
        }
        if (!options.yes) {
          process.stdout.write(WARNING);
          if (!(await confirmed())) {
            console.log("Aborted: nothing was changed.");
            process.exitCode = 1;
            return;
          }
        }
        const log = createLogger(config.logLevel);
        const count = await prepareForReboot({ storage, config, log, observers: [statusLog(log)] }, backend);
        console.log(
          `Backend '${backend}' paused; ${count} running job(s) stopped and waiting for the reboot.`,
        );
        process.stdout.write(await rebootStatus(storage, backend));
      });
    });
}
