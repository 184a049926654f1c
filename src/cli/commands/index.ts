import type { Command } from "commander";
import { registerDbMaintenance } from "./db-maintenance.js";
import { registerFlags } from "./flags.js";
import { registerMigrate } from "./migrate.js";
import { registerPause } from "./pause.js";

/** Every sub-command registers itself on the program; keep this list in the order `rap --help` shows them. */
export const commands: Array<(program: Command) => void> = [
  registerMigrate,
  registerFlags,
  registerPause,
  registerDbMaintenance,
];
