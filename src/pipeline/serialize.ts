/**
 * The result of checking a project in the shape of the corpus `.expected.json` files (what the reference returns,
 * recorded by the corpus builder), so `rap check --json` output can be compared with them mechanically.
 */

import { orderedObject } from "../python/ordered.js";
import { PythonFloat } from "../python/values.js";
import type { ProjectValidationError } from "./errors.js";
import type { Action, Pipeline } from "./model.js";

/** `image:tag` of every action, sorted, with `latest` shown as `v1` (the reference's `action_images`). */
export function actionImages(pipeline: Pipeline): string[] {
  const images = new Set<string>();
  for (const action of pipeline.actions.values()) {
    images.add(`${action.run.image}:${action.run.tag === "latest" ? "v1" : action.run.tag}`);
  }
  return [...images].sort();
}

export function toExpectedJson(pipeline: Pipeline): Record<string, unknown> {
  return orderedObject<unknown>([
    ["ok", true],
    // Python reports the version as a float: 3.0, not 3.
    ["version", new PythonFloat(pipeline.version)],
    ["expectations", pipeline.expectations],
    ["all_actions", pipeline.allActions],
    ["action_images", actionImages(pipeline)],
    ["actions", orderedObject([...pipeline.actions].map(([name, action]) => [name, actionJson(action)]))],
    ["warnings", pipeline.warnings],
    // Whether the reference used its optional C parser; recorded for the shape, always false here.
    ["fast_parser", false],
  ]);
}

function actionJson(action: Action): Record<string, unknown> {
  return orderedObject<unknown>([
    ["run", action.run.raw],
    ["image", action.run.image],
    ["tag", action.run.tag],
    ["args", action.run.args.join(" ")],
    ["parts", action.run.parts],
    ["needs", action.needs],
    ["outputs", action.outputs],
    ["config", action.config],
    ["dummy_data_file", action.dummyDataFile],
    ["is_database_action", action.isDatabaseAction],
  ]);
}

export function errorToExpectedJson(error: ProjectValidationError): Record<string, unknown> {
  return orderedObject<unknown>([
    ["ok", false],
    ["error_type", "ProjectValidationError"],
    ["kind", error.kind],
    ["error", error.message],
    ["message", error.kind === "yaml" ? null : error.detail],
    ["warnings", [...error.warnings]],
    ["fast_parser", false],
  ]);
}
