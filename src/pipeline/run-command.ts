/** The job's command line, built as the reference's create pipeline builds `run_command`. */

import { pythonJsonDumps } from "../python/json-dumps.js";
import type { Action } from "./model.js";
import { shlexJoin } from "./shlex.js";

/**
 * `shlex.join` of the run words, plus `--config <json.dumps(config)>` when the action has a non-empty `config`
 * (the reference tests the dict's truth, so `config: {}` adds nothing). Every `'` in the JSON is written as the six
 * characters `\u0027`, so the JSON survives as one shell word.
 */
export function buildRunCommand(action: Action): string {
  const parts = [...action.run.parts];
  if (action.config !== null && Object.keys(action.config).length > 0) {
    parts.push("--config", pythonJsonDumps(action.config).replaceAll("'", "\\u0027"));
  }
  return shlexJoin(parts);
}
