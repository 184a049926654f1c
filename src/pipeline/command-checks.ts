/**
 * Extra output rules for the commands that write data extracts, so a study cannot declare outputs the command will
 * not produce (or release an extract by labelling it anything but `highly_sensitive`). As in the reference, they
 * apply when the raw `run:` string starts with the image and exactly one space before the command.
 */

import { fnmatch } from "../python/fnmatch.js";
import { orderedEntries } from "../python/ordered.js";
import { pathName, pathParent, pathWithName } from "../python/posix-path.js";
import { RuleViolation } from "./errors.js";
import type { RunCommand } from "./model.js";

const COHORTEXTRACTOR_GENERATE_COHORT = /^cohortextractor:\S+ generate_cohort/;
const EHRQL_GENERATE_DATASET = /^(?:ehrql|databuilder):\S+ generate[-_]dataset/;

export function checkCommandOutputs(
  actionId: string,
  run: RunCommand,
  outputs: Record<string, Record<string, string>>,
): void {
  if (COHORTEXTRACTOR_GENERATE_COHORT.test(run.raw)) checkGenerateCohort(actionId, run, outputs);
  if (EHRQL_GENERATE_DATASET.test(run.raw)) checkGenerateDataset(actionId, run, outputs);
}

function checkGenerateCohort(
  actionId: string,
  run: RunCommand,
  outputs: Record<string, Record<string, string>>,
) {
  const levels = Object.keys(outputs).length;
  if (levels !== 1) {
    throw new RuleViolation(
      `A \`generate_cohort\` action must have exactly one output; ${actionId} had ${levels}`,
    );
  }
  if (run.parts.some((part) => part === "--output-dir" || part.startsWith("--output-dir="))) return;
  const directories = [
    ...new Set(
      Object.values(outputs).flatMap((level) =>
        orderedEntries(level).map(([, pattern]) => pathParent(pattern)),
      ),
    ),
  ];
  if (directories.length !== 1) {
    // The reference lists the directories in hash-set order (it varies between runs); we use file order.
    throw new RuleViolation(
      `generate_cohort command should produce output in only one directory, found ${directories.length}:\n` +
        directories.map((directory) => ` - ${directory}/`).join("\n"),
    );
  }
}

function checkGenerateDataset(
  actionId: string,
  run: RunCommand,
  outputs: Record<string, Record<string, string>>,
) {
  for (const level of ["moderately_sensitive", "minimally_sensitive"]) {
    if (Object.keys(outputs[level] ?? {}).length > 0) {
      throw new RuleViolation(
        `\`${actionId}\` action uses \`generate-dataset\` and so all outputs must be labelled \`highly_sensitive\``,
      );
    }
  }
  const spec = outputArgument(run.parts);
  if (spec === "") {
    throw new RuleViolation(
      `\`${actionId}\` action does not provide an \`--output\` argument specifying where the results of \`generate-dataset\` should be stored`,
    );
  }
  const patterns = orderedEntries(outputs.highly_sensitive ?? {}).map(([, pattern]) => pattern);
  let matches: boolean;
  let expected: string;
  const name = pathName(spec);
  const colon = name.lastIndexOf(":");
  if (colon >= 0) {
    // `dir:ext` (or `dir/:ext`): a directory of files with that extension.
    const stem = name.slice(0, colon);
    const extension = name.slice(colon + 1);
    const directory = stem === "" ? pathParent(spec) : pathWithName(spec, stem);
    matches = patterns.every((pattern) => fnmatch(pattern, `${directory}/*.${extension}`));
    expected = `${directory}/:${extension}`;
  } else {
    matches = patterns.includes(spec);
    expected = spec;
  }
  if (!matches) {
    throw new RuleViolation(
      "output specification must match the `--output` argument in the `run` command\n" +
        `              got: ${patterns.join("                   \n")}\n` +
        `but was expecting: ${expected}`,
    );
  }
}

/** The value of the first `--output X` or `--output=X` in the command; "" when absent. */
function outputArgument(parts: readonly string[]): string {
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    if (part === "--output") return parts[i + 1] ?? "";
    if (part.startsWith("--output=")) return part.slice("--output=".length);
  }
  return "";
}
