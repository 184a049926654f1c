import type { Command } from "commander";
import { registerAddJob } from "./add-job.js";
import { registerAgent } from "./agent.js";
import { registerCancel } from "./cancel.js";
import { registerCheck } from "./check.js";
import { registerController } from "./controller.js";
import { registerDbMaintenance } from "./db-maintenance.js";
import { registerDemo } from "./demo.js";
import { registerFlags } from "./flags.js";
import { registerJobs } from "./jobs.js";
import { registerLogs } from "./logs.js";
import { registerMigrate } from "./migrate.js";
import { registerPause } from "./pause.js";
import { registerPrepareForReboot } from "./prepare-for-reboot.js";
import { registerServe } from "./serve.js";
import { registerSnapshotDb } from "./snapshot-db.js";
import { registerTick } from "./tick.js";

/** Every sub-command registers itself on the program; keep this list in the order `rap --help` shows them. */
export const commands: Array<(program: Command) => void> = [
  registerServe,
  registerDemo,
  registerController,
  registerAgent,
  registerMigrate,
  registerTick,
  registerCheck,
  registerAddJob,
  registerJobs,
  registerCancel,
  registerLogs,
  registerFlags,
  registerPause,
  registerDbMaintenance,
  registerPrepareForReboot,
  registerSnapshotDb,
];
