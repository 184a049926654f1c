import { Argument, type Command } from "commander";

export function registerDbMaintenance(program: Command): void {
  program
    .command("db-maintenance")
    .description("put a backend's database in manual maintenance mode (database jobs wait), or end it")
    .addArgument(new Argument("<state>", "on or off").choices(["on", "off"]))
    .argument("<backend>", "backend name")
    .option("--disable-checks", "also stop the scheduled database status checks", false)
    .action(async (state: "on" | "off", backend: string, options: { disableChecks: boolean }) => {
      const { setDbMaintenance } = await import("../../ops/flags.js");
      const { backendArgument, withStorage } = await import("../context.js");
      await withStorage(async (storage, config) => {
        const lines = await setDbMaintenance(
          storage.flags,
          backendArgument(config, backend),
          state === "on",
          options.disableChecks,
        );
        for (const line of lines) console.log(line);
      });
    });
}
