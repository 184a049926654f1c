/** `rap check PATH [--json]`: the report text and JSON, and one run of the real command. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkProject, formatCheckJson, formatCheckText } from "../../src/pipeline/index.js";
import { runCli } from "../support/cli.js";

const VALID = `version: 5
actions:
  generate_dataset:
    run: ehrql:v1 generate-dataset analysis/dataset_definition.py --output output/dataset.csv.gz
    outputs:
      highly_sensitive:
        dataset: output/dataset.csv.gz
  describe:
    run: python:v2 analysis/describe.py
    needs: [generate_dataset]
    outputs:
      moderately_sensitive:
        table: output/table.csv
        chart: output/chart.png
`;

const INVALID = `version: 4
actions:
  a:
    run: python:v2 a.py
    outputs:
      moderately_sensitive:
        model: output/model.rds
`;

describe("the check report", () => {
  it("lists each action with its image, needs and outputs", () => {
    expect(formatCheckText(checkProject(VALID), "project.yaml")).toBe(
      [
        "project.yaml: valid project (version 5.0, 2 actions)",
        "",
        "generate_dataset (database action)",
        "  image:   ehrql:v1",
        "  needs:   -",
        "  outputs: highly_sensitive: dataset = output/dataset.csv.gz",
        "",
        "describe",
        "  image:   python:v2",
        "  needs:   generate_dataset",
        "  outputs: moderately_sensitive: table = output/table.csv",
        "           moderately_sensitive: chart = output/chart.png",
        "",
      ].join("\n"),
    );
  });

  it("shows warnings, then the error", () => {
    expect(formatCheckText(checkProject(INVALID), "project.yaml")).toBe(
      [
        "project.yaml: invalid project",
        "ProjectWarning: Your project file is using an old version (4.0); consider updating to version 5",
        "",
        "Invalid project: ",
        "Output path output/model.rds is invalid: output/model.rds is not an allowed file type for moderately_sensitive outputs",
        "",
      ].join("\n"),
    );
  });

  it("prints JSON in the shape of the corpus .expected.json files", () => {
    expect(JSON.parse(formatCheckJson(checkProject(INVALID)))).toEqual({
      ok: false,
      error_type: "ProjectValidationError",
      kind: "validation",
      error:
        "Invalid project: \nOutput path output/model.rds is invalid: output/model.rds is not an allowed file type for moderately_sensitive outputs",
      message:
        "Output path output/model.rds is invalid: output/model.rds is not an allowed file type for moderately_sensitive outputs",
      warnings: [
        "ProjectWarning: Your project file is using an old version (4.0); consider updating to version 5",
      ],
      fast_parser: false,
    });
    const json = formatCheckJson(checkProject(VALID));
    expect(json).toContain('\n  "version": 5.0,\n');
    expect(JSON.parse(json).actions.describe).toEqual({
      run: "python:v2 analysis/describe.py",
      image: "python",
      tag: "v2",
      args: "analysis/describe.py",
      parts: ["python:v2", "analysis/describe.py"],
      needs: ["generate_dataset"],
      outputs: { moderately_sensitive: { table: "output/table.csv", chart: "output/chart.png" } },
      config: null,
      dummy_data_file: null,
      is_database_action: false,
    });
  });
});

describe("rap check", () => {
  it("exits 0 for a valid file and 1 for an invalid or missing one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rap-check-"));
    writeFileSync(join(dir, "valid.yaml"), VALID);
    writeFileSync(join(dir, "invalid.yaml"), INVALID);

    const valid = await runCli(["check", join(dir, "valid.yaml")], {});
    expect(valid.code).toBe(0);
    expect(valid.stdout).toContain(": valid project (version 5.0, 2 actions)");

    const invalid = await runCli(["check", "--json", join(dir, "invalid.yaml")], {});
    expect(invalid.code).toBe(1);
    expect(JSON.parse(invalid.stdout).kind).toBe("validation");

    const missing = await runCli(["check", join(dir, "missing.yaml")], {});
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`cannot read ${join(dir, "missing.yaml")}`);
  });

  it("reads DIR/project.yaml when given a directory", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rap-check-"));
    writeFileSync(join(dir, "project.yaml"), VALID);
    const valid = await runCli(["check", dir], {});
    expect(valid.code).toBe(0);
    expect(valid.stdout).toContain(`${join(dir, "project.yaml")}: valid project (version 5.0, 2 actions)`);

    const empty = mkdtempSync(join(tmpdir(), "rap-check-"));
    const missing = await runCli(["check", empty], {});
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`cannot read ${join(empty, "project.yaml")}: ENOENT`);
  });
});
