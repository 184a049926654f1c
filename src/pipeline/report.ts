/** `rap check`: the outcome of validating one project file, as JSON or as text for people. */

import { pyFloatRepr } from "../python/float.js";
import { pythonJsonDumps } from "../python/json-dumps.js";
import { orderedEntries } from "../python/ordered.js";
import { ProjectValidationError } from "./errors.js";
import type { Pipeline } from "./model.js";
import { parseProject } from "./project.js";
import { errorToExpectedJson, toExpectedJson } from "./serialize.js";

export type CheckResult = { ok: true; pipeline: Pipeline } | { ok: false; error: ProjectValidationError };

export function checkProject(text: string | Uint8Array): CheckResult {
  try {
    return { ok: true, pipeline: parseProject(text) };
  } catch (error) {
    if (error instanceof ProjectValidationError) return { ok: false, error };
    throw error;
  }
}

/** The `.expected.json` shape, indented as those files are. */
export function formatCheckJson(result: CheckResult): string {
  const json = result.ok ? toExpectedJson(result.pipeline) : errorToExpectedJson(result.error);
  return `${pythonJsonDumps(json, { indent: 2 })}\n`;
}

/** A summary line, the warnings, then each action with its image, needs and outputs (or the error). */
export function formatCheckText(result: CheckResult, path: string): string {
  const lines: string[] = [];
  if (!result.ok) {
    lines.push(`${path}: invalid project`, ...result.error.warnings, "", result.error.message);
    return `${lines.join("\n")}\n`;
  }
  const { pipeline } = result;
  const count = pipeline.actions.size;
  lines.push(
    `${path}: valid project (version ${pyFloatRepr(pipeline.version)}, ${count} action${count === 1 ? "" : "s"})`,
  );
  lines.push(...pipeline.warnings);
  for (const action of pipeline.actions.values()) {
    lines.push("", `${action.name}${action.isDatabaseAction ? " (database action)" : ""}`);
    lines.push(`  image:   ${action.run.image}:${action.run.tag}`);
    lines.push(`  needs:   ${action.needs.length > 0 ? action.needs.join(", ") : "-"}`);
    const outputs = Object.entries(action.outputs).flatMap(([level, entries]) =>
      orderedEntries(entries).map(([name, pattern]) => `${level}: ${name} = ${pattern}`),
    );
    lines.push(`  outputs: ${outputs.length > 0 ? outputs.join("\n           ") : "-"}`);
  }
  return `${lines.join("\n")}\n`;
}
