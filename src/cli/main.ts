#!/usr/bin/env node
/**
 * The `rap` command. Each sub-command lives in its own file under commands/ and only parses arguments before
 * calling a library function that the server and the tests use too.
 */
import { readFileSync } from "node:fs";
import { Command } from "commander";
import { commands } from "./commands/index.js";

/** The installed package's version: package.json sits two levels above both src/cli/ and dist/cli/. */
const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  version: string;
};

const program = new Command()
  .name("rap")
  .description("rap-runner: the OpenSAFELY RAP controller and agent")
  .version(version, "-V, --version", "print the version and exit")
  .showHelpAfterError();

for (const register of commands) register(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
