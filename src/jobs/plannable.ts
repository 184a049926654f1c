/**
 * What planning a RAP's jobs needs of a parsed project.yaml: plain data (strings, arrays, Maps), so that it can be
 * made on a worker thread and posted back. The run commands are built here, once per project, from each action's
 * `run` and `config` (whose Python-typed values would not survive the post).
 */
import type { OutputSpec } from "../domain/job.js";
import { buildRunCommand, type Pipeline } from "../pipeline/index.js";

export interface PlannableAction {
  /** Action names, in file order, duplicates kept. */
  readonly needs: readonly string[];
  readonly outputs: OutputSpec;
  readonly isDatabaseAction: boolean;
  /** The job's `run_command` (reference/controller.md §7.4.5). */
  readonly runCommand: string;
}

export interface PlannableProject {
  /** Action names in file order, without a user-defined `run_all`. */
  readonly allActions: readonly string[];
  readonly actions: ReadonlyMap<string, PlannableAction>;
}

export function plannable(pipeline: Pipeline): PlannableProject {
  const actions = new Map<string, PlannableAction>();
  for (const [name, action] of pipeline.actions) {
    actions.set(name, {
      needs: action.needs,
      outputs: action.outputs,
      isDatabaseAction: action.isDatabaseAction,
      runCommand: buildRunCommand(action),
    });
  }
  return { allActions: pipeline.allActions, actions };
}
