import { describe, expect, test } from "vitest";
import { parseBody } from "../../src/http/body.js";
import { BodyNotJsonError } from "../../src/http/errors.js";

describe("decoding request bytes", () => {
  test("S010: bytes that are not UTF-8 are a parse error", () => {
    expect(() => parseBody(Buffer.from([0xed]))).toThrow(BodyNotJsonError);
  });

  test("S011: an empty or missing body is a parse error", () => {
    expect(() => parseBody(Buffer.alloc(0))).toThrow(BodyNotJsonError);
    expect(() => parseBody(undefined)).toThrow(BodyNotJsonError);
  });

  test("a UTF-8 byte-order mark is skipped, as Python does for bytes", () => {
    expect(parseBody(Buffer.from("\ufeff[]"))).toEqual([]);
  });
});
