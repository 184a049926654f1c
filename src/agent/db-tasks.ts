/**
 * The scheduled database tasks (reference/agent.md §2.10, §5): DBSTATUS asks the database utilities image whether
 * the database is in maintenance; DBDATACHECK whether the expected month of HES data has arrived. Both run a
 * short-lived container on the database network and report `{"results": …, "error": …}`; a failure becomes the
 * `error` part, never an exception. The output's last line must be one of a few known values, and an unexpected
 * value is never echoed back (it could carry data out of the backend).
 */
import type { AgentConfig } from "../config/agent.js";
import { type AgentTask, TaskType } from "../domain/task.js";
import { pyStrRepr } from "../python/repr.js";
import { errorClassName } from "./errors.js";
import { pinnedHost } from "./network.js";
import type { Runtime } from "./runtime/types.js";

const DB_STATUS_VALUES = [
  "",
  "db-maintenance",
  "db-maintenance;0",
  "db-maintenance;1",
  "db-maintenance;2",
  "none;0",
  "none;1",
  "none;2",
];
const DB_DATA_CHECK_VALUES = ["OK", "FAILED"];

const TIMEOUT_MS = 300_000;

/** An error reported in a scheduled task's results, typed with the name the reference's Python would give. */
export class DbTaskError extends Error {
  readonly code = "DB_TASK_FAILED";
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
    this.name = "DbTaskError";
  }
}

export type DbTaskSettings = Pick<AgentConfig, "databaseUrls" | "databaseAccessNetwork">;

/** Runs a DBSTATUS or DBDATACHECK task; the answer is the update's `results`. */
export async function runDbTask(
  task: AgentTask,
  runtime: Runtime,
  settings: DbTaskSettings,
): Promise<{ results: Record<string, string> | null; error: { type: string; message: string } | null }> {
  try {
    return { results: await dbTaskResults(task, runtime, settings), error: null };
  } catch (error) {
    const type =
      error instanceof DbTaskError ? error.type : error instanceof Error ? errorClassName(error) : "Error";
    return {
      results: null,
      error: { type, message: error instanceof Error ? error.message : String(error) },
    };
  }
}

async function dbTaskResults(task: AgentTask, runtime: Runtime, settings: DbTaskSettings) {
  const definition = task.definition;
  if (task.type === TaskType.DbStatus) {
    const status = await runUtility(runtime, settings, definition, String(definition.database_name), [
      "in_maintenance_mode",
    ]);
    checkAllowed(status, DB_STATUS_VALUES);
    return { status: status.split(";")[0] === "db-maintenance" ? "db-maintenance" : "" };
  }
  const month = String(definition.hes_expected_activity_month);
  const status = await runUtility(runtime, settings, definition, "default", ["hes_cutoff_date_check", month]);
  checkAllowed(status, DB_DATA_CHECK_VALUES);
  return { status };
}

/** Runs the utility image and returns the last line of its output, trimmed. */
async function runUtility(
  runtime: Runtime,
  settings: DbTaskSettings,
  definition: Record<string, unknown>,
  databaseName: string,
  args: string[],
): Promise<string> {
  const url = settings.databaseUrls[databaseName];
  if (url === undefined) throw new DbTaskError("KeyError", pyStrRepr(databaseName));
  const image = await runtime.ensureImage(
    String(definition.image),
    typeof definition.image_sha === "string" ? definition.image_sha : null,
  );
  const result = await runtime.runToCompletion({
    image,
    args,
    env: { DATABASE_URL: url },
    cpuCount: null,
    memoryLimit: null,
    network: {
      kind: "database",
      network: settings.databaseAccessNetwork,
      extraHosts: await pinnedHost(url),
    },
    user: null,
    labels: {},
    timeoutMs: TIMEOUT_MS,
  });
  if (result.exitCode !== 0) {
    throw new DbTaskError("CalledProcessError", `Command returned non-zero exit status ${result.exitCode}.`);
  }
  return (result.stdout.trim().split("\n").at(-1) ?? "").trim();
}

function checkAllowed(status: string, allowed: readonly string[]): void {
  if (!allowed.includes(status)) {
    throw new DbTaskError("ValueError", `Invalid status, expected one of: ${allowed.join(", ")}`);
  }
}
