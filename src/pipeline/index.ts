/**
 * project.yaml: parsing and validation with the reference library's results (accept/reject decision, error texts,
 * parsed actions), plus the shell helpers the create pipeline needs to build command lines. Pure: no I/O.
 */
export { isDatabaseAction } from "./database.js";
export {
  INVALID_PROJECT_PREFIX,
  type ProjectErrorKind,
  ProjectValidationError,
  type ProjectValidationErrorOptions,
  ShellSyntaxError,
} from "./errors.js";
export {
  type Action,
  type Expectations,
  type Pipeline,
  PRIVACY_LEVELS,
  type PrivacyLevel,
  type RunCommand,
} from "./model.js";
export { LATEST_VERSION, parseProject } from "./project.js";
export { type CheckResult, checkProject, formatCheckJson, formatCheckText } from "./report.js";
export { buildRunCommand } from "./run-command.js";
export { actionImages, errorToExpectedJson, toExpectedJson } from "./serialize.js";
export { shlexJoin, shlexQuote, shlexSplit } from "./shlex.js";
