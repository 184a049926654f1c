import type { Command } from "commander";

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description(
      "run the example study through the whole system (as `rap serve`, in WORKDIR), showing each job's progress; " +
        "then keep serving until interrupted",
    )
    .option("--exit", "stop once every job is final; the exit code is 0 only when every job succeeded")
    .action(async (options: { exit?: boolean }) => {
      const { runDemo } = await import("../../app/demo.js");
      process.exitCode = await runDemo(process.env, process.cwd(), {
        exit: options.exit ?? false,
        out: process.stdout,
      });
    });
}
