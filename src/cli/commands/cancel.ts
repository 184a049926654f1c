import type { Command } from "commander";

export function registerCancel(program: Command): void {
  program
    .command("cancel")
    .description("cancel a RAP's actions, as rap/cancel/ does (no actions: every unfinished job of the RAP)")
    .argument("<rap-id>", "the RAP")
    .argument("[actions...]", "actions to cancel (default: all of them)")
    .action(async (rapId: string, actions: string[]) => {
      const { cancelFromCli } = await import("../../ops/jobs.js");
      const { withStorage } = await import("../context.js");
      await withStorage(async (storage, config) => {
        const { ok, message } = await cancelFromCli(storage.jobs, rapId, actions, config.backends);
        if (ok) console.log(message);
        else {
          console.error(message);
          process.exitCode = 1;
        }
      });
    });
}
