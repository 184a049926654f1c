/**
 * `project.yaml` → Pipeline: the top-level rules, each action, then the whole-project rules, in the reference's
 * order (the first problem found is the one reported, so the order is part of the behaviour).
 */

import { pyFloat, pyInt } from "../python/convert.js";
import { pyFloatRepr } from "../python/float.js";
import { orderedEntries } from "../python/ordered.js";
import { pyStr } from "../python/repr.js";
import type { PyValue } from "../python/values.js";
import { buildAction } from "./action.js";
import { findNeedsCycle } from "./cycles.js";
import { ProjectValidationError, RuleViolation } from "./errors.js";
import { type Action, type Expectations, type Pipeline, PRIVACY_LEVELS } from "./model.js";
import { requireMapping, unexpectedParameters } from "./shape.js";
import { decodeProjectText } from "./text.js";
import { loadYaml, YamlError } from "./yaml/index.js";

export const LATEST_VERSION = 5;
const RUN_ALL = "run_all";
const DEFAULT_EXPECTATIONS: Expectations = { population_size: 1000 };

/** Parses and validates a project file. Throws only ProjectValidationError. */
export function parseProject(text: string | Uint8Array): Pipeline {
  const warnings: string[] = [];
  let data: PyValue;
  try {
    data = loadYaml(typeof text === "string" ? text : decodeProjectText(text));
  } catch (error) {
    if (error instanceof YamlError) {
      throw new ProjectValidationError(error.message, { kind: "yaml", detail: null, warnings });
    }
    throw error;
  }
  try {
    return buildPipeline(data, warnings);
  } catch (error) {
    if (error instanceof RuleViolation) throw ProjectValidationError.invalid(error.message, warnings);
    throw error;
  }
}

function buildPipeline(data: PyValue, warnings: string[]): Pipeline {
  // The reference crashes on a document that is not a mapping.
  if (data === null) {
    throw new RuleViolation("Project file is empty: it must be a dictionary of key/value pairs");
  }
  const project = requireMapping(data, "Project file");
  unexpectedParameters(project, ["version", "actions", "expectations"], "project");

  const rawVersion = project.get("version") ?? null;
  if (rawVersion === null) {
    throw new RuleViolation(
      `Project file must have a \`version\` attribute specifying which version of the project configuration format it uses (current latest version is ${LATEST_VERSION})`,
    );
  }
  const version = pyFloat(rawVersion);
  if (version === undefined)
    throw new RuleViolation(`\`version\` must be a number between 1 and ${LATEST_VERSION}`);
  if (version !== LATEST_VERSION) {
    warnings.push(
      `ProjectWarning: Your project file is using an old version (${pyFloatRepr(version)}); consider updating to version ${LATEST_VERSION}`,
    );
  }
  if (version > LATEST_VERSION) {
    // The reference raises a bare ValueError with this text.
    throw new RuleViolation(`The latest version is v${LATEST_VERSION}, but got v${pyFloatRepr(version)}`);
  }

  const actionSpecs = requireMapping(project.get("actions") ?? null, "Project `actions` section");
  const actions = new Map<string, Action>();
  const allActions: string[] = [];
  /** Names `needs` can refer to: only string keys (a `2017:` key is an int in YAML and Python). */
  const needable = new Set<string>();
  for (const [key, body] of actionSpecs) {
    const name = pyStr(key, "ordereddict");
    if (name === RUN_ALL && typeof key === "string") {
      if (version >= 5) {
        throw new RuleViolation(
          "`run_all` is a reserved action name and is not allowed for user-defined actions.",
        );
      }
      warnings.push(
        "ProjectWarning: `run_all` is a reserved action name; user-defined actions with this name are ignored and will raise an error in later versions.",
      );
    }
    if (actions.has(name)) {
      throw new RuleViolation(
        `Action name ${name} is used twice (once written as a number or other non-string)`,
      );
    }
    actions.set(name, buildAction(name, body));
    if (name !== RUN_ALL) allActions.push(name);
    if (typeof key === "string") needable.add(key);
  }

  checkProject(version, [...actions.values()], needable);
  const expectations = readExpectations(version, project.get("expectations") ?? null);
  return { version, expectations, allActions, actions, warnings };
}

function checkProject(version: number, actions: Action[], needable: ReadonlySet<string>): void {
  if (version >= 4) {
    for (const action of actions) {
      if (action.run.parts[0]?.startsWith("cohortextractor")) {
        throw new RuleViolation(
          `Action ${action.name} uses cohortextractor actions, which are not supported in this version.`,
        );
      }
    }
  }
  if (version >= 5) {
    for (const action of actions) {
      const first = action.run.parts[0] ?? "";
      if (first.endsWith(":latest")) {
        throw new RuleViolation(
          `Action ${action.name} uses \`${first}\`, which is not supported. Provide a version e.g. \`:v2\` instead`,
        );
      }
    }
  }
  const runs = new Map<string, string>();
  for (const action of actions) {
    const earlier = runs.get(action.run.raw);
    if (earlier !== undefined) {
      throw new RuleViolation(
        `Action ${action.name} has the same 'run' command as other actions: ${earlier}`,
      );
    }
    runs.set(action.run.raw, action.name);
  }
  if (version >= 2) {
    const paths = new Set<string>();
    for (const action of actions) {
      for (const level of PRIVACY_LEVELS) {
        for (const [, pattern] of orderedEntries(action.outputs[level] ?? {})) {
          if (paths.has(pattern)) throw new RuleViolation(`Output path ${pattern} is not unique`);
          paths.add(pattern);
        }
      }
    }
  }
  for (const action of actions) {
    for (const need of action.needs) {
      if (!needable.has(need)) {
        throw new RuleViolation(
          `Action \`${action.name}\` references an unknown action in its \`needs\` list: ${need}`,
        );
      }
    }
  }
  // The reference accepts cycles, and job-runner then recurses without end when it plans the jobs.
  const cycle = findNeedsCycle(actions);
  if (cycle !== null) {
    throw new RuleViolation(
      `Actions depend on each other in a cycle through their \`needs\`: ${cycle.join(" -> ")}`,
    );
  }
}

function readExpectations(version: number, raw: PyValue): Expectations | null {
  if (version >= 4) {
    if (raw !== null) {
      throw new RuleViolation(
        "Project includes `expectations` section, which is not supported in this version. This section is only applicable to deprecated cohortextractor actions; you can safely remove it.",
      );
    }
    return null;
  }
  if (version !== 3) return { ...DEFAULT_EXPECTATIONS };
  if (raw === null) throw new RuleViolation("Project must include `expectations` section");
  const expectations = requireMapping(raw, "Project `expectations` section");
  if (!expectations.has("population_size")) {
    throw new RuleViolation("Project `expectations` section must include `population_size` section");
  }
  unexpectedParameters(expectations, ["population_size"], "project `expectations` section");
  const size = pyInt(expectations.get("population_size"));
  if (size === undefined) throw new RuleViolation("Project expectations population size must be a number");
  return { population_size: size };
}
