/**
 * Our OpenAPI document (openapi/rap-api-v1.yaml) is the one source of truth for the RAP API's request schemas: it
 * is served as spec.json and on the docs page, and the request validators are compiled from its
 * components.schemas, so documentation and behaviour cannot drift apart.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { compileSchema, type Validator } from "./validate.js";

/** Two levels up from both src/http (tests, tsx) and dist/http (the built CLI). */
export const OPENAPI_PATH = fileURLToPath(new URL("../../openapi/rap-api-v1.yaml", import.meta.url));

export interface ApiDocument {
  /** The document as plain JSON values. */
  readonly spec: Readonly<Record<string, unknown>>;
  /** The same, serialised once for `GET spec.json`. */
  readonly specJson: string;
  readonly validators: {
    readonly create: Validator;
    readonly cancel: Validator;
    readonly status: Validator;
  };
}

export function loadApiDocument(path: string = OPENAPI_PATH): ApiDocument {
  const spec = parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  const schemas = ((spec.components ?? {}) as Record<string, unknown>).schemas as Record<string, unknown>;
  const validator = (name: string) => {
    if (!schemas?.[name]) throw new Error(`${path} has no components.schemas.${name}`);
    return compileSchema(schemas[name], `components.schemas.${name}`);
  };
  return Object.freeze({
    spec,
    specJson: JSON.stringify(spec),
    validators: Object.freeze({
      create: validator("createRequestBody"),
      cancel: validator("cancelRequestBody"),
      status: validator("statusRequestBody"),
    }),
  });
}
