import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { validBody } from "../../src/http/body.js";
import { loadApiDocument } from "../../src/http/openapi.js";
import { compileSchema, jsonPath, SchemaCompileError } from "../../src/http/validate.js";
import { parsePythonJson } from "../../src/python/json-loads.js";

interface GoldenCase {
  label: string;
  schema: "createRequestBody" | "cancelRequestBody" | "statusRequestBody";
  body: string;
  details: string | null;
}

const golden: GoldenCase[] = JSON.parse(
  readFileSync(new URL("./fixtures/validation-cases.json", import.meta.url), "utf8"),
).cases;

const api = loadApiDocument();
const validators = {
  createRequestBody: api.validators.create,
  cancelRequestBody: api.validators.cancel,
  statusRequestBody: api.validators.status,
};

function details(validator: (typeof validators)["createRequestBody"], body: string): string | null {
  try {
    validBody(Buffer.from(body), validator);
    return null;
  } catch (error) {
    return (error as { details: string }).details;
  }
}

describe("request validation reproduces Python jsonschema 4.26 best_match", () => {
  // The rows (S013, S035–S060, S095–S096, S110–S111 and edge cases) were computed by jsonschema itself.
  test.each(golden)("$label", ({ schema, body, details: expected }) => {
    expect(details(validators[schema], body)).toBe(expected);
  });
});

describe("S014: message construction (the reference's unit table, its mocked schema)", () => {
  const validator = compileSchema(
    {
      type: "object",
      required: ["foo", "bar", "baz"],
      properties: {
        foo: {
          type: "object",
          required: ["foo_array"],
          properties: { foo_array: { type: "array", minItems: 2, items: { type: "number" } } },
        },
        bar: { enum: ["a", "b", "c"] },
        baz: { items: { pattern: "^[a-z]{4}$" } },
      },
    },
    "S014",
  );
  test.each([
    ["{}", "Invalid request body received: 'foo' is a required property"],
    ['{"foo": []}', "Invalid request body received: 'bar' is a required property"],
    [
      '{"foo": [], "bar": "a", "baz": []}',
      "Invalid request body received at $.foo: [] is not of type 'object'",
    ],
    [
      '{"foo": {"not_required": ""}, "bar": "a", "baz": []}',
      "Invalid request body received at $.foo: 'foo_array' is a required property",
    ],
    [
      '{"foo": {"foo_array": [1]}, "bar": "a", "baz": []}',
      "Invalid request body received at $.foo.foo_array: [1] is too short",
    ],
    [
      '{"foo": {"foo_array": ["a", 2]}, "bar": "a", "baz": []}',
      "Invalid request body received at $.foo.foo_array[0]: 'a' is not of type 'number'",
    ],
    [
      '{"foo": {"foo_array": [1, 2]}, "bar": "a", "baz": ["ab12", "AAA"]}',
      "Invalid request body received at $.baz[1]: 'AAA' does not match '^[a-z]{4}$'",
    ],
    [
      '{"foo": {"foo_array": [1, 2]}, "bar": "d", "baz": []}',
      "Invalid request body received at $.bar: 'd' is not one of ['a', 'b', 'c']",
    ],
    [
      '{"foo": {"foo_array": [1, true]}, "bar": "a", "baz": []}',
      "Invalid request body received at $.foo.foo_array[1]: True is not of type 'number'",
    ],
    [
      '{"foo": {"foo_array": [1, 2.5]}, "bar": "a", "baz": [1, "abc"]}',
      "Invalid request body received at $.baz[1]: 'abc' does not match '^[a-z]{4}$'",
    ],
  ])("%s", (body, expected) => {
    expect(details(validator, body)).toBe(expected);
  });
});

describe("our deliberate differences", () => {
  test("S055 differs: analysis_scope null is accepted (DESIGN DECISIONS 2; the reference rejects it)", () => {
    const body = JSON.parse(golden.find((c) => c.label === "accepted: orgs []")!.body);
    body.analysis_scope = null;
    expect(details(api.validators.create, JSON.stringify(body))).toBeNull();
  });

  test("an object analysis_scope is still checked, and any other type is still refused", () => {
    const body = JSON.parse(golden.find((c) => c.label === "accepted: orgs []")!.body);
    body.analysis_scope = 5;
    expect(details(api.validators.create, JSON.stringify(body))).toBe(
      "Invalid request body received at $.analysis_scope: 5 is not of type 'object'",
    );
  });

  test("patterns do not match before a trailing newline (Python's `$` would accept 'abcdefgh12345678\\n')", () => {
    expect(details(api.validators.status, JSON.stringify({ rap_ids: ["abcdefgh12345678\n"] }))).toBe(
      "Invalid request body received at $.rap_ids[0]: 'abcdefgh12345678\\n' does not match '^[a-z0-9]{16}$'",
    );
  });
});

describe("compiling schemas", () => {
  test.each([
    [{ type: "object", additionalProperties: false }, "unsupported keyword 'additionalProperties'"],
    [{ anyOf: [{ type: "string" }] }, "unsupported keyword 'anyOf'"],
    [{ type: ["string", "null"] }, "unsupported type"],
    [{ pattern: "(" }, "components.x.pattern"],
    [{ enum: [{ a: 1 }] }, "only lists of strings"],
    [{ minItems: -1 }, "must be a whole number"],
  ])("refuses what the validator cannot check: %j", (schema, message) => {
    expect(() => compileSchema(schema, "components.x")).toThrow(SchemaCompileError);
    expect(() => compileSchema(schema, "components.x")).toThrow(message);
  });

  test("annotations are ignored", () => {
    const validator = compileSchema(
      { type: "string", description: "d", example: "e", format: "date-time" },
      "x",
    );
    expect(validator("not a date")).toBeNull();
  });

  test("a valid instance has no failure; the failure carries its path", () => {
    const validator = compileSchema(
      { type: "object", properties: { a: { type: "array", items: { type: "string" } } } },
      "x",
    );
    expect(validator(parsePythonJson('{"a": ["x"]}'))).toBeNull();
    const failure = validator(parsePythonJson('{"a": ["x", 3]}'))!;
    expect(jsonPath(failure.path)).toBe("$.a[1]");
    expect(failure.message).toBe("3 is not of type 'string'");
  });
});
