import { Argument, type Command } from "commander";
import { setPaused } from "../../ops/flags.js";
import { backendArgument, withDatabase } from "../context.js";

export function registerPause(program: Command): void {
  program
    .command("pause")
    .description("pause a backend (pending jobs wait; running jobs carry on), or resume it")
    .addArgument(new Argument("<state>", "on or off").choices(["on", "off"]))
    .argument("<backend>", "backend name")
    .action(async (state: "on" | "off", backend: string) => {
      await withDatabase(async (db, config) => {
        for (const line of await setPaused(db, backendArgument(config, backend), state === "on"))
          console.log(line);
      });
    });
}
