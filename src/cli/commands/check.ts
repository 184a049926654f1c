import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { checkProject, formatCheckJson, formatCheckText } from "../../pipeline/index.js";

export function registerCheck(program: Command): void {
  program
    .command("check")
    .description("validate a project.yaml; --json prints the parsed actions or the error")
    .argument("<path>", "the project.yaml file")
    .option("--json", "print the result as JSON, in the shape of the corpus .expected.json files")
    .action(async (path: string, options: { json?: boolean }) => {
      let bytes: Uint8Array;
      try {
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
