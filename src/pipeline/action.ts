/** One entry of `actions:` → an Action, checking the reference's per-action rules in the reference's order. */

import { pythonJsonKey } from "../python/json-dumps.js";
import { orderedObject } from "../python/ordered.js";
import { pyRepr } from "../python/repr.js";
import type { PyValue } from "../python/values.js";
import { parseRunCommand } from "./command.js";
import { checkCommandOutputs } from "./command-checks.js";
import { isDatabaseAction } from "./database.js";
import { RuleViolation } from "./errors.js";
import type { Action } from "./model.js";
import { readOutputs } from "./outputs.js";
import { isMapping, requireMapping, unexpectedParameters } from "./shape.js";

const ACTION_KEYS = ["run", "outputs", "needs", "config", "dummy_data_file"];

export function buildAction(actionId: string, body: PyValue): Action {
  const spec = requireMapping(body, `Configuration for action ${actionId}`);
  for (const key of ["run", "outputs"]) {
    if (!spec.has(key))
      throw new RuleViolation(`Action ${actionId} must contain a configuration for '${key}'`);
  }
  // An `action_id` key crashes the reference (it clashes with a parameter name); here it is just unexpected.
  unexpectedParameters(spec, ACTION_KEYS, `action ${actionId}`);

  const outputs = requireMapping(spec.get("outputs") ?? null, `\`outputs\` section for action ${actionId}`);
  const run = spec.get("run");
  if (typeof run !== "string")
    throw new RuleViolation(`\`run\` section for action ${actionId} must be a string`);
  const needs = spec.get("needs") ?? null;
  if (needs !== null && !Array.isArray(needs)) {
    throw new RuleViolation(`\`needs\` section for action ${actionId} must be a list`);
  }
  const config = spec.get("config") ?? null;
  if (config !== null && !isMapping(config)) {
    throw new RuleViolation(
      `\`config\` section for action ${actionId} must be a dictionary of key/value pairs`,
    );
  }
  const dummyDataFile = spec.get("dummy_data_file") ?? null;
  if (dummyDataFile !== null && typeof dummyDataFile !== "string") {
    throw new RuleViolation(`\`dummy_data_file\` section for action ${actionId} must be a string`);
  }

  const outputSpec = readOutputs(outputs, actionId);
  const command = parseRunCommand(run, actionId);
  const needNames = readNeeds(needs ?? [], actionId);
  checkCommandOutputs(actionId, command, outputSpec);
  return {
    name: actionId,
    run: command,
    needs: needNames,
    outputs: outputSpec,
    config: config === null ? null : (jsonLike(config) as Record<string, unknown>),
    dummyDataFile,
    isDatabaseAction: isDatabaseAction(command.parts),
  };
}

function readNeeds(needs: PyValue[], actionId: string): string[] {
  return needs.map((need) => {
    if (typeof need !== "string") {
      // The reference crashes on these (`needs: [2017]` where `2017:` names an action is a real case).
      throw new RuleViolation(
        `\`needs\` section for action ${actionId} must list action names as strings, but contains ${pyRepr(need, "ordereddict")} (quote names that look like numbers)`,
      );
    }
    if (need.includes(" ")) {
      throw new RuleViolation(
        `\`needs\` actions should be separated with commas, but ${actionId} needs \`${need}\``,
      );
    }
    return need;
  });
}

/** A loaded mapping as plain JSON-like data, keys converted as `json.dumps` converts them. */
function jsonLike(value: PyValue): unknown {
  if (Array.isArray(value)) return value.map(jsonLike);
  if (!(value instanceof Map)) return value;
  return orderedObject(Array.from(value, ([key, item]) => [pythonJsonKey(key), jsonLike(item)] as const));
}
