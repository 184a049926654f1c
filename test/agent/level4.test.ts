import { describe, expect, test } from "vitest";
import { csvShape } from "../../src/agent/workspace/csv-shape.js";
import { checkLevel4, mb } from "../../src/agent/workspace/level4.js";

const LIMITS = { maxFilesize: 512 * 1024, maxCsvRows: 10, fileTypes: [".csv", ".txt"] };
const bytes = (text: string) => async () => new TextEncoder().encode(text);

describe("mb: round(bytes / 1024², 2) printed as a Python float", () => {
  test.each([
    [1024 * 1024, "1.0"],
    [512 * 1024, "0.5"],
    [16 * 1024 * 1024, "16.0"],
    [Math.round(16.21 * 1024 * 1024), "16.21"],
    [6 * 1024 * 1024 * 0.001, "0.01"],
    [0, "0.0"],
    [131072, "0.12"], // 0.125 exactly: Python rounds the tie to even
    [393216, "0.38"], // 0.375 → 0.38 (even)
  ])("%d bytes → %s", (size, text) => {
    expect(mb(size)).toBe(text);
  });
});

describe("csvShape: csv.DictReader semantics", () => {
  test.each<[string, number, number]>([
    ["", 0, 0],
    ["a,b\n", 0, 0],
    ["a,b\n1,2\n", 1, 2],
    ["a,b\r\n1,2\r\n3,4", 2, 2],
    ["a,b\n\n1,2\n\n", 1, 2],
    ['a,b\n"multi\nline",2\n', 1, 2],
    ["a,b\n1,2,3\n", 1, 3],
    ["a,b,c\n1\n", 1, 3],
    ["a,a\n1,2\n", 1, 1],
    ['a,b\n"x""y",2\n', 1, 2],
    ["a,b\n1,\n", 1, 2],
  ])("%j → %d rows, %d cols", (text, rows, cols) => {
    const shape = csvShape(new TextEncoder().encode(text));
    expect([shape.rows, shape.cols]).toEqual([rows, cols]);
  });

  test("invalid UTF-8 and over-long fields fail to parse", () => {
    expect(() => csvShape(new Uint8Array([0x61, 0xff, 0x0a]))).toThrow("not UTF-8");
    expect(() => csvShape(new TextEncoder().encode(`a\n${"x".repeat(131073)}\n`))).toThrow("field limit");
  });
});

describe("checkLevel4: the reference's exact messages", () => {
  test("size over the limit (S34)", async () => {
    const result = await checkLevel4("output/output.txt", 1024 * 1024, LIMITS, bytes(""));
    expect(result).toEqual({
      shortMessage: "File size of 1.0Mb is larger that limit of 0.5Mb.",
      longMessage:
        "\nThe file:\n\noutput/output.txt\n\nwas 1.0Mb, which is above the limit for moderately_sensitive files of\n0.5Mb.\n\nAs such, it has *not* been copied to Level 4 storage. Please double check that\noutput/output.txt contains only aggregate information, and is an appropriate size to\nbe able to be output checked.\n",
      rowCount: null,
      colCount: null,
    });
  });

  test("file type (S35)", async () => {
    const result = await checkLevel4("output/output.rds", 10, { ...LIMITS, fileTypes: [".csv"] }, bytes(""));
    expect(result.shortMessage).toBe("File type of .rds is not valid level 4 file");
    expect(result.longMessage).toBe(
      "\nThe file:\n\noutput/output.rds\n\nis of type .rds. This is not a valid file type for moderately_sensitive files.\n\nLevel 4 files should be aggregate information easily viewable by output checkers.\n\nSee available list of file types here: https://docs.opensafely.org/requesting-file-release/#allowed-file-types.\n",
    );
  });

  test("patient_id column, even with no rows (S36)", async () => {
    const result = await checkLevel4("out.csv", 20, LIMITS, bytes("patient_id,foo,bar\n1,2,3\n"));
    expect(result).toMatchObject({ shortMessage: "File has patient_id column", rowCount: 1, colCount: 3 });
    expect(result.longMessage).toBe(
      "\nThe file:\n\nout.csv\n\nhas not been made available in level 4 because it has a `patient_id` column.\n\nPatient level data is not allowed by policy in level 4.\n\nYou should change this file's privacy to `highly_sensitive` in your\nproject.yaml. Or, if is aggregrate data, you should remove the patient_id\ncolumn from your data.\n\n",
    );
    const empty = await checkLevel4("out.csv", 20, LIMITS, bytes("patient_id\n"));
    expect(empty).toMatchObject({ shortMessage: "File has patient_id column", rowCount: 0, colCount: 0 });
  });

  test("row limit (S37), and both CSV reasons together", async () => {
    const rows = `a,b\n${"1,2\n".repeat(11)}`;
    const result = await checkLevel4("out.csv", rows.length, LIMITS, bytes(rows));
    expect(result).toMatchObject({
      shortMessage: "File row count (11) exceeds maximum allowed rows (10)",
      rowCount: 11,
      colCount: 2,
    });
    expect(result.longMessage).toBe(
      "\nThe file:\n\nout.csv\n\ncontained 11 rows, which is above the limit for moderately_sensitive files of\n10 rows.\n\nAs such, it has *not* been copied to Level 4 storage. Please contact tech-support for\nfurther assistance.\n",
    );
    const both = await checkLevel4("out.csv", 10, LIMITS, bytes(`patient_id,b\n${"1,2\n".repeat(11)}`));
    expect(both.shortMessage).toBe(
      "File has patient_id column,File row count (11) exceeds maximum allowed rows (10)",
    );
    expect(both.longMessage).toContain("`patient_id` column.");
    expect(both.longMessage).toContain("\n\n\n\nThe file:\n\nout.csv\n\ncontained 11 rows");
  });

  test("allowed files: CSV counted, other types not; unparsable CSV neither counted nor excluded", async () => {
    expect(await checkLevel4("a.csv", 8, LIMITS, bytes("a,b\n1,2\n"))).toEqual({
      shortMessage: null,
      longMessage: null,
      rowCount: 1,
      colCount: 2,
    });
    expect(await checkLevel4("a.txt", 8, LIMITS, bytes("x"))).toEqual({
      shortMessage: null,
      longMessage: null,
      rowCount: null,
      colCount: null,
    });
    expect(await checkLevel4("a.csv", 8, LIMITS, async () => new Uint8Array([0xff]))).toMatchObject({
      shortMessage: null,
      rowCount: null,
    });
  });
});
