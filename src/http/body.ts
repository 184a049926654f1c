/**
 * Request bodies, read as the reference reads them: the bytes are JSON whatever the Content-Type says (job-server's
 * integration test sends none); anything that is not UTF-8 JSON, an empty body included, is one parse error; the
 * parsed value is then checked against the operation's request schema.
 */

import { type JsonValue, parsePythonJson } from "../python/json-loads.js";
import { BodyInvalidError, BodyNotJsonError } from "./errors.js";
import { jsonPath, type Validator } from "./validate.js";

// A UTF-8 byte-order mark is skipped, as Python does for bytes; invalid UTF-8 is an error, not replaced.
const utf8 = new TextDecoder("utf-8", { fatal: true });

export function parseBody(raw: Buffer | undefined): JsonValue {
  try {
    return parsePythonJson(utf8.decode(raw ?? new Uint8Array()));
  } catch (error) {
    throw new BodyNotJsonError({ cause: error });
  }
}

/** Parses and validates a body; returns it when it matches the schema. */
export function validBody(raw: Buffer | undefined, validator: Validator): JsonValue {
  return validated(parseBody(raw), validator);
}

/** Returns a parsed body when it matches the schema. */
export function validated(body: JsonValue, validator: Validator): JsonValue {
  const failure = validator(body);
  if (failure) {
    const where = failure.path.length === 0 ? "" : ` at ${jsonPath(failure.path)}`;
    throw new BodyInvalidError(`Invalid request body received${where}: ${failure.message}`);
  }
  return body;
}
