#!/usr/bin/env node
/**
 * The `rap` command. Each sub-command lives in its own file under commands/ and only parses arguments before
 * calling a library function that the server and the tests use too.
 */
import { Command } from "commander";
import { commands } from "./commands/index.js";

const program = new Command()
  .name("rap")
  .description("rap-runner: the OpenSAFELY RAP controller and agent")
  .showHelpAfterError();

for (const register of commands) register(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
