import type { Command } from "commander";

/** Every sub-command registers itself on the program; keep this list in the order `rap --help` shows them. */
export const commands: Array<(program: Command) => void> = [];
