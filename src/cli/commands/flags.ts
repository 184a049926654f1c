import type { Command } from "commander";

export function registerFlags(program: Command): void {
  const flags = program.command("flags").description("read or set backend flags");
  flags
    .command("get")
    .description("print flags of a backend (all of them, or the named ones)")
    .argument("[names...]", "flag names")
    .requiredOption("--backend <backend>", "backend name")
    .action(async (names: string[], options: { backend: string }) => {
      const { describeFlags } = await import("../../ops/flags.js");
      const { backendArgument, withStorage } = await import("../context.js");
      await withStorage(async (storage, config) => {
        const lines = await describeFlags(storage.flags, backendArgument(config, options.backend), names);
        for (const line of lines) console.log(line);
      });
    });
  flags
    .command("set")
    .description("set flags of a backend; NAME= clears a flag")
    .argument("<assignments...>", "NAME=VALUE pairs")
    .requiredOption("--backend <backend>", "backend name")
    .action(async (assignments: string[], options: { backend: string }) => {
      const { parseAssignment, setFlags } = await import("../../ops/flags.js");
      const { backendArgument, withStorage } = await import("../context.js");
      const parsed = assignments.map(parseAssignment);
      await withStorage(async (storage, config) => {
        const lines = await setFlags(storage.flags, backendArgument(config, options.backend), parsed);
        for (const line of lines) console.log(line);
      });
    });
}
