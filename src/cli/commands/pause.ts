import { Argument, type Command } from "commander";
import { setPaused } from "../../ops/flags.js";
import { backendArgument, withStorage } from "../context.js";

export function registerPause(program: Command): void {
  program
    .command("pause")
    .description("pause a backend (pending jobs wait; running jobs carry on), or resume it")
    .addArgument(new Argument("<state>", "on or off").choices(["on", "off"]))
    .argument("<backend>", "backend name")
    .action(async (state: "on" | "off", backend: string) => {
      await withStorage(async (storage, config) => {
        for (const line of await setPaused(storage.flags, backendArgument(config, backend), state === "on"))
          console.log(line);
      });
    });
}
