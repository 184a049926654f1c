import { Argument, type Command } from "commander";

export function registerPause(program: Command): void {
  program
    .command("pause")
    .description("pause a backend (pending jobs wait; running jobs carry on), or resume it")
    .addArgument(new Argument("<state>", "on or off").choices(["on", "off"]))
    .argument("<backend>", "backend name")
    .action(async (state: "on" | "off", backend: string) => {
      const { setPaused } = await import("../../ops/flags.js");
      const { backendArgument, withStorage } = await import("../context.js");
      await withStorage(async (storage, config) => {
        for (const line of await setPaused(storage.flags, backendArgument(config, backend), state === "on"))
          console.log(line);
      });
    });
}
