import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { expect, test } from "vitest";
import { apiErrorFor, CreateFailedError, createErrorFor, ErrorCode } from "../../src/http/errors.js";
import { repoRoot } from "../support/requirements.js";

const docs = readFileSync(resolve(repoRoot, "docs", "api.md"), "utf8");

test("docs/api.md lists every error code, and no code that does not exist", () => {
  const codes: string[] = Object.values(ErrorCode);
  for (const code of codes) expect(docs).toContain(`\`${code}\``);
  const documented = [...docs.matchAll(/\| `([A-Z][A-Z_]+)` \|$/gm)].map((m) => m[1]);
  expect(documented.sort()).toEqual([...codes].sort());
});

test("anything unknown becomes a JSON error, never an exception", () => {
  expect(apiErrorFor(new Error("boom")).code).toBe(ErrorCode.Internal);
  expect(apiErrorFor("not even an error").status).toBe(500);
  expect(apiErrorFor(Object.assign(new Error("bad length"), { statusCode: 400 })).body()).toEqual({
    error: "Bad request",
    details: "bad length",
  });
  expect(apiErrorFor(Object.assign(new Error("too big"), { statusCode: 413 })).status).toBe(413);
  expect(createErrorFor(undefined)).toBeInstanceOf(CreateFailedError);
});
