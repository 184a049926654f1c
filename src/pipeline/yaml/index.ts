/**
 * A YAML loader that reads project files exactly as the reference does (ruyaml round-trip mode, YAML 1.2): same
 * values, same accept/reject decision, same error text. We do not use a general-purpose YAML library here because
 * none reproduces the reference's error messages and positions, and the largest project files must load quickly.
 */
import type { PyValue } from "../../python/values.js";
import { Composer } from "./composer.js";
import { checkPrintable } from "./errors.js";
import { Scanner } from "./scanner.js";

export { MAX_ALIAS_EXPANSION, MAX_ALIAS_EXPANSION_CHARS, MAX_DEPTH } from "./composer.js";
export { YamlError } from "./errors.js";

/** The value of the single YAML document in `source` (null when empty). Throws YamlError. */
export function loadYaml(source: string): PyValue {
  checkPrintable(source);
  return new Composer(new Scanner(source)).loadSingleDocument();
}
