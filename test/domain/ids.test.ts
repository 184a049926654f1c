import { describe, expect, test } from "vitest";
import { deterministicJobId, randomId } from "../../src/domain/ids.js";

describe("deterministicJobId", () => {
  // Vectors from reference/controller.md §1.4 and scenarios.md S089.
  test.each([
    ["abcdefgh23456789", "generate_dataset", "rfzajqkfrp766yxc"],
    ["a1b2c3d4e5f6g7h8", "action1", "g5u7yyme7azrdada"],
    ["12345678abcdefgh", "generate_dataset", "nak2fshhs47krixo"],
    ["12345678abcdefgh", "analyse_data_ehrql", "xa4o2pg2ysltlodk"],
    ["87654321hgfedcba", "generate_dataset_with_dummy_data", "3s5uivfnuwycak37"],
  ])("%s + %s → %s", (rapId, action, expected) => {
    expect(deterministicJobId(rapId, action)).toBe(expected);
  });
});

describe("randomId", () => {
  test("is 16 characters of the lowercase base32 alphabet and differs between calls", () => {
    const a = randomId();
    expect(a).toMatch(/^[a-z2-7]{16}$/);
    expect(randomId()).not.toBe(a);
  });
});
