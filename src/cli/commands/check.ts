import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Command } from "commander";

export function registerCheck(program: Command): void {
  program
    .command("check")
    .description("validate a project.yaml; --json prints the parsed actions or the error")
    .argument("<path>", "the project.yaml file, or a directory holding one")
    .option("--json", "print the result as JSON, in the shape of the corpus .expected.json files")
    .action(async (argument: string, options: { json?: boolean }) => {
      const { checkProject, formatCheckJson, formatCheckText } = await import("../../pipeline/index.js");
      let path = argument;
      let bytes: Uint8Array;
      try {
        if ((await stat(argument)).isDirectory()) path = join(argument, "project.yaml");
        bytes = await readFile(path);
      } catch (error) {
        console.error(`cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
        process.exitCode = 1;
        return;
      }
      const result = checkProject(bytes);
      if (options.json) process.stdout.write(formatCheckJson(result));
      else if (result.ok) process.stdout.write(formatCheckText(result, path));
      else process.stderr.write(formatCheckText(result, path));
      process.exitCode = result.ok ? 0 : 1;
    });
}
