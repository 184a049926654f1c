import { describe, expect, test } from "vitest";
import { echo, echoRepr } from "../../src/domain/echo.js";
import { pyRepr } from "../../src/python/repr.js";
import type { PyValue } from "../../src/python/values.js";

describe("echo", () => {
  test("a short text is itself; a long one its first 200 characters, then …, never half a surrogate pair", () => {
    expect(echo("abc")).toBe("abc");
    expect(echo("x".repeat(201))).toBe(`${"x".repeat(200)}…`);
    expect(echo(`${"x".repeat(198)}😀`)).toBe(`${"x".repeat(198)}😀`);
    expect(echo(`${"x".repeat(199)}😀`)).toBe(`${"x".repeat(199)}…`);
  });
});

describe("echoRepr: what an error message may echo of a value", () => {
  test("a short value is its whole repr", () => {
    const value = new Map<PyValue, PyValue>([["a", ["x", 1n, null]]]);
    expect(echoRepr(value)).toBe(pyRepr(value));
  });

  test.each([
    ["a long string", "y".repeat(10_000), `'${"y".repeat(199)}…`],
    ["a string needing escapes", "\u0001".repeat(1000), `'${"\\x01".repeat(49)}\\x0…`],
    ["a long list", Array(10_000).fill("ab"), `[${"'ab', ".repeat(33)}'…`],
    ["a long integer", BigInt("9".repeat(300)), `${"9".repeat(200)}…`],
    [
      "a deep list",
      JSON.parse(`${"[".repeat(150)}${"]".repeat(150)}`),
      `${"[".repeat(150)}${"]".repeat(50)}…`,
    ],
  ])("%s: its first 200 characters, then …", (_, value, expected) => {
    expect(echoRepr(value as PyValue)).toBe(expected);
  });

  test("the quote is chosen from the whole string, as repr chooses it", () => {
    expect(echoRepr(`${"a".repeat(300)}'`)).toBe(`"${"a".repeat(199)}…`);
  });
});
