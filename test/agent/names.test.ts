import { describe, expect, test } from "vitest";
import { matchOutputs, overLimit } from "../../src/agent/workspace/matching.js";
import { copyRefusal, nameRefusal, shownName } from "../../src/agent/workspace/names.js";
import type { VolumeFile } from "../../src/agent/workspace/volume.js";

describe("shownName", () => {
  test.each([
    ["output/dataset.csv", "output/dataset.csv"],
    ["output/My File (1).csv", "output/My File (1).csv"],
    ["résumé/数据.csv", "résumé/数据.csv"],
    ["a\nb", "a\\nb"],
    ["a\r\tb", "a\\r\\tb"],
    ["a\\b", "a\\\\b"],
    ["\x1b[31mred", "\\x1b[31mred"],
    ["del\x7f c1\x9b", "del\\x7f c1\\x9b"],
    ["line\u2028sep", "line\\u2028sep"],
    ["bidi\u202eevil", "bidi\\u202eevil"],
  ])("%j is shown as %j", (name, shown) => {
    expect(shownName(name)).toBe(shown);
    expect(shownName(Buffer.from(name))).toBe(shown);
  });

  test("bytes that are not UTF-8 are shown as \\xNN, the valid sequences around them decoded", () => {
    expect(shownName(Buffer.from([0x61, 0xff, 0x62]))).toBe("a\\xffb");
    // A truncated 3-byte sequence, then é (2 bytes), then a lone continuation byte.
    expect(shownName(Buffer.from([0xe6, 0x95, 0xc3, 0xa9, 0x80]))).toBe("\\xe6\\x95é\\x80");
    // An overlong encoding of "/" is not UTF-8.
    expect(shownName(Buffer.from([0xc0, 0xaf]))).toBe("\\xc0\\xaf");
  });
});

describe("refusals", () => {
  test("names", () => {
    expect(nameRefusal("output/a.csv", undefined)).toBeNull();
    expect(nameRefusal("output/a\n.csv", undefined)).toBeNull();
    expect(nameRefusal("output/a\\b.csv", undefined)).toBe("its name contains a backslash");
    expect(nameRefusal("output/a\ufffd.csv", Buffer.from([0x61, 0xff]))).toBe("its name is not valid UTF-8");
  });

  test("copy errors: a name or place the workspace cannot take, never a platform failure", () => {
    expect(copyRefusal("ENAMETOOLONG")).toBe("its path is too long to save in the workspace");
    expect(copyRefusal("EISDIR")).toBe("a directory or file of the same name is in the way in the workspace");
    expect(copyRefusal("ENOTDIR")).toBe(
      "a directory or file of the same name is in the way in the workspace",
    );
    expect(copyRefusal("EIO")).toBeNull();
    expect(copyRefusal("ENOSPC")).toBeNull();
    expect(copyRefusal(undefined)).toBeNull();
  });
});

describe("matchOutputs", () => {
  const file = (path: string, rawPath?: Buffer): VolumeFile => ({
    path,
    dir: false,
    mtimeMs: 1,
    size: 10,
    rawPath,
  });

  test("refused names are left out of the outputs and reported once; the last pattern's level wins", () => {
    const raw = Buffer.from([...Buffer.from("out/x"), 0xff]);
    const listing = [file("out/a.csv"), file("out/b\\c.csv"), file("out/x\ufffd", raw), file("other/z.txt")];
    const matched = matchOutputs(
      { "out/*": "highly_sensitive", "out/*.csv": "moderately_sensitive", "none/*": "highly_sensitive" },
      listing,
    );
    expect(matched.outputs).toEqual({ "out/a.csv": "moderately_sensitive" });
    expect(matched.sizes).toEqual({ "out/a.csv": 10 });
    expect(matched.patterns).toEqual([
      ["out/*", ["out/a.csv"]],
      ["out/*.csv", ["out/a.csv"]],
      ["none/*", []],
    ]);
    expect(matched.refused).toEqual([
      ["out/b\\c.csv", "its name contains a backslash"],
      [raw, "its name is not valid UTF-8"],
    ]);
  });

  test("a pattern that could leave the volume is refused", () => {
    expect(() => matchOutputs({ "../*": "highly_sensitive" }, [])).toThrow('Unsafe output pattern: "../*"');
  });
});

describe("overLimit", () => {
  test("no limit, at the limit, over it", () => {
    const sizes = { "a.csv": 60, "b.bin": 40 };
    expect(overLimit(sizes, 0)).toBeNull();
    expect(overLimit(sizes, 100)).toBeNull();
    const why = "the job's outputs total 100 bytes, over this backend's limit of 99 (MAX_JOB_OUTPUT_BYTES)";
    expect(overLimit(sizes, 99)).toEqual([
      ["a.csv", `60 bytes: ${why}`],
      ["b.bin", `40 bytes: ${why}`],
    ]);
  });
});
