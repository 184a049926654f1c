import { describe, expect, test } from "vitest";
import { OperatorTokens } from "../../src/http/auth.js";
import { InvalidTokenError, NoTokenError } from "../../src/http/errors.js";

describe("OperatorTokens", () => {
  const tokens = new OperatorTokens(["op-1", "op-2"]);

  test("accepts each configured token, raw or as a Bearer token", () => {
    expect(() => tokens.check("op-1")).not.toThrow();
    expect(() => tokens.check("Bearer op-2")).not.toThrow();
  });

  test("a missing header and a wrong token are told apart", () => {
    expect(() => tokens.check(undefined)).toThrow(NoTokenError);
    expect(() => tokens.check("op-3")).toThrow(InvalidTokenError);
    expect(() => tokens.check("Bearer op-")).toThrow(InvalidTokenError);
  });

  test("with no tokens configured, nothing is accepted", () => {
    expect(() => new OperatorTokens([]).check("")).toThrow(NoTokenError);
    expect(() => new OperatorTokens([]).check("anything")).toThrow(InvalidTokenError);
  });
});
