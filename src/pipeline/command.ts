/** An action's `run:` string → image, tag and arguments. */
import { RuleViolation, ShellSyntaxError } from "./errors.js";
import type { RunCommand } from "./model.js";
import { shlexSplit } from "./shlex.js";

// `v` and digits/dots (optionally `-pre`), or `dev`, or `latest`; anything else is refused.
const TAG_PATTERN = /^(?:v[0-9.]+(?:-pre)?|dev|latest)$/;

export function parseRunCommand(raw: string, actionId: string): RunCommand {
  const empty = `run must have a value, ${actionId} has an empty run key`;
  if (raw === "") throw new RuleViolation(empty);
  let parts: string[];
  try {
    parts = shlexSplit(raw);
  } catch (error) {
    // The reference crashes here; we name the problem instead.
    if (error instanceof ShellSyntaxError) {
      throw new RuleViolation(
        `\`run\` section for action ${actionId} cannot be split into words: ${error.message}`,
      );
    }
    throw error;
  }
  // Whitespace only: the reference crashes (no first word); it is as empty as "".
  const first = parts[0];
  if (first === undefined) throw new RuleViolation(empty);
  const colon = first.indexOf(":");
  const image = colon < 0 ? first : first.slice(0, colon);
  const tag = colon < 0 ? "" : first.slice(colon + 1);
  if (!TAG_PATTERN.test(tag)) {
    throw new RuleViolation(
      `Action command ${image} must have a version specified in the form :vN (e.g. ${image}:v2)`,
    );
  }
  return { raw, parts, image, tag, args: parts.slice(1) };
}
