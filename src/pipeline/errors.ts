/**
 * The one error type callers of the pipeline module catch. The message is the reference library's exact text, so
 * job-server users see the same wording whichever implementation ran.
 */
import { RefusalError } from "../domain/errors.js";

export type ProjectErrorKind =
  /** The file is not valid YAML; the message is the YAML parser's multi-line text, without any prefix. */
  | "yaml"
  /** The YAML is fine but breaks a project rule; the message starts with `Invalid project: \n`. */
  | "validation";

export const INVALID_PROJECT_PREFIX = "Invalid project: \n";

export interface ProjectValidationErrorOptions {
  kind?: ProjectErrorKind;
  /** The message without the `Invalid project: \n` prefix (null for YAML errors); defaults to the message. */
  detail?: string | null;
  warnings?: readonly string[];
}

export class ProjectValidationError extends RefusalError {
  override readonly name: string = "ProjectValidationError";
  readonly code: string = "PROJECT_INVALID";
  readonly kind: ProjectErrorKind;
  /** For validation errors, the message without the `Invalid project: \n` prefix; null for YAML errors. */
  readonly detail: string | null;
  /** Warnings raised before the error was found (the reference emits them even when loading then fails). */
  readonly warnings: readonly string[];

  constructor(message: string, options: ProjectValidationErrorOptions = {}) {
    super(message);
    this.kind = options.kind ?? "validation";
    this.detail = options.detail === undefined ? message : options.detail;
    this.warnings = options.warnings ?? [];
  }

  /** A rule violation, worded as the reference: `Invalid project: \n<detail>`. */
  static invalid(detail: string, warnings: readonly string[]): ProjectValidationError {
    return new ProjectValidationError(INVALID_PROJECT_PREFIX + detail, { detail, warnings: [...warnings] });
  }
}

/** Raised by `shlexSplit` for input Python's `shlex.split` rejects; the message is Python's. */
export class ShellSyntaxError extends Error {
  override readonly name = "ShellSyntaxError";
  readonly code = "SHELL_SYNTAX";
}

/**
 * @internal A project rule is broken. Validators throw it with the reference's message; `parseProject` turns it into
 * a ProjectValidationError carrying the warnings gathered so far.
 */
export class RuleViolation extends Error {
  override readonly name = "RuleViolation";
}
