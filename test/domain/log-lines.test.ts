import { describe, expect, test } from "vitest";
import { LineSplitter, linesOf } from "../../src/domain/log-lines.js";

describe("LineSplitter", () => {
  test("gives the lines each chunk completes, however the bytes are cut", () => {
    const splitter = new LineSplitter(100);
    expect(splitter.push(Buffer.from("one\ntw"))).toEqual(["one"]);
    expect(splitter.push(Buffer.from("o"))).toEqual([]);
    expect(splitter.push(Buffer.from("\n\nthree\nfo"))).toEqual(["two", "", "three"]);
    expect(splitter.end()).toBe("fo");
    expect(splitter.end()).toBeNull();
  });

  test("a character cut between chunks comes out whole", () => {
    const bytes = Buffer.from("é\n");
    const splitter = new LineSplitter(100);
    expect(splitter.push(bytes.subarray(0, 1))).toEqual([]);
    expect(splitter.push(bytes.subarray(1))).toEqual(["é"]);
  });

  test("a line longer than the limit is given in pieces of the limit", () => {
    const splitter = new LineSplitter(4);
    expect(splitter.push(Buffer.from("abcdefghij"))).toEqual(["abcd", "efgh"]);
    expect(splitter.push(Buffer.from("k\nxy\n"))).toEqual(["ijk", "xy"]);
    expect(splitter.push(Buffer.from("wxyz\n"))).toEqual(["wxyz"]);
  });
});

test("linesOf reads a stream of chunks into lines, the unterminated last one included", async () => {
  async function* chunks() {
    yield Buffer.from("a\nb");
    yield Buffer.from("c\nd");
  }
  const lines: string[] = [];
  for await (const line of linesOf(chunks(), 100)) lines.push(line);
  expect(lines).toEqual(["a", "bc", "d"]);
});
