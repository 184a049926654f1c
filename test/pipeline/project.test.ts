/**
 * The public API: the parsed model, the error type, the run command the create pipeline builds, and properties
 * (generated valid projects always parse; no input makes the parser throw anything but ProjectValidationError).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  buildRunCommand,
  isDatabaseAction,
  type Pipeline,
  ProjectValidationError,
  parseProject,
  shlexQuote,
} from "../../src/pipeline/index.js";
import { PythonFloat } from "../../src/python/values.js";
import { corpusDir, corpusRequirement, requires } from "../support/requirements.js";

const corpus = requires(corpusRequirement());

function failure(text: string | Uint8Array): ProjectValidationError {
  try {
    parseProject(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ProjectValidationError);
    return error as ProjectValidationError;
  }
  throw new Error("expected the project to be rejected");
}

const PROJECT = `version: '4.0'
actions:
  generate_dataset:
    run: >
      ehrql:v1 generate-dataset analysis/dataset_definition.py
        --output output/dataset.arrow
    outputs:
      highly_sensitive:
        dataset: output/dataset.arrow
  report:
    run: cohort-report:v3.0.0 output/dataset.arrow
    needs: [generate_dataset]
    config:
      alpha: 0.05
      rounding: 5.0
      "2020": year
      nested: {title: "Bob's report", on: [true, null]}
    dummy_data_file: analysis/dummy.csv
    outputs:
      moderately_sensitive:
        html: output/report/*.html
        table: output/report/table.csv
  run_all:
    run: python:latest python -c "print('all')"
    needs: [generate_dataset, report]
    outputs:
      moderately_sensitive:
        log: logs/run_all.log
`;

describe("parseProject", () => {
  it("gives the parsed model", () => {
    const pipeline = parseProject(PROJECT);
    expect(pipeline.version).toBe(4);
    expect(pipeline.expectations).toBeNull();
    expect(pipeline.allActions).toEqual(["generate_dataset", "report"]);
    expect([...pipeline.actions.keys()]).toEqual(["generate_dataset", "report", "run_all"]);
    expect(pipeline.warnings).toEqual([
      "ProjectWarning: Your project file is using an old version (4.0); consider updating to version 5",
      "ProjectWarning: `run_all` is a reserved action name; user-defined actions with this name are ignored and will raise an error in later versions.",
    ]);
    const dataset = pipeline.actions.get("generate_dataset");
    expect(dataset?.run).toEqual({
      raw: "ehrql:v1 generate-dataset analysis/dataset_definition.py\n  --output output/dataset.arrow\n",
      parts: [
        "ehrql:v1",
        "generate-dataset",
        "analysis/dataset_definition.py",
        "--output",
        "output/dataset.arrow",
      ],
      image: "ehrql",
      tag: "v1",
      args: ["generate-dataset", "analysis/dataset_definition.py", "--output", "output/dataset.arrow"],
    });
    expect(dataset?.isDatabaseAction).toBe(true);
    expect(dataset?.needs).toEqual([]);
    expect(dataset?.config).toBeNull();
    const report = pipeline.actions.get("report");
    expect(report?.needs).toEqual(["generate_dataset"]);
    expect(report?.outputs).toEqual({
      moderately_sensitive: { html: "output/report/*.html", table: "output/report/table.csv" },
    });
    expect(report?.config).toEqual({
      alpha: 0.05,
      rounding: new PythonFloat(5),
      "2020": "year",
      nested: { title: "Bob's report", on: [true, null] },
    });
    expect(report?.dummyDataFile).toBe("analysis/dummy.csv");
    expect(report?.isDatabaseAction).toBe(false);
  });

  it("reads bytes as UTF-8, with or without a byte order mark", () => {
    const bytes = new TextEncoder().encode(`\ufeff${PROJECT}`);
    expect(parseProject(bytes).allActions).toEqual(["generate_dataset", "report"]);
  });

  it("reports undecodable bytes as a YAML error", () => {
    const error = failure(new Uint8Array([0x76, 0x3a, 0x20, 0xff]));
    expect(error.kind).toBe("yaml");
    expect(error.message).toBe(
      `'utf-8' codec can't decode byte #xff: invalid start byte\n  in "<byte string>", position 3`,
    );
  });

  it("raises ProjectValidationError with a stable code, the detail and the warnings so far", () => {
    const error = failure("version: 3\nactions: {}\n");
    expect(error.code).toBe("PROJECT_INVALID");
    expect(error.kind).toBe("validation");
    expect(error.message).toBe("Invalid project: \nProject must include `expectations` section");
    expect(error.detail).toBe("Project must include `expectations` section");
    expect(error.warnings).toEqual([
      "ProjectWarning: Your project file is using an old version (3.0); consider updating to version 5",
    ]);
  });

  it("gives YAML errors without the `Invalid project` prefix", () => {
    const error = failure("version: 4\nversion: 5\n");
    expect(error.kind).toBe("yaml");
    expect(error.detail).toBeNull();
    expect(error.message.split("\n")[0]).toBe("while constructing a mapping");
  });

  it("names the cycle when actions need each other", () => {
    const text = `version: 5
actions:
  a: {run: "python:v2 a.py", needs: [c], outputs: {highly_sensitive: {a: a.csv}}}
  b: {run: "python:v2 b.py", needs: [a], outputs: {highly_sensitive: {b: b.csv}}}
  c: {run: "python:v2 c.py", needs: [b], outputs: {highly_sensitive: {c: c.csv}}}
`;
    expect(failure(text).message).toBe(
      "Invalid project: \nActions depend on each other in a cycle through their `needs`: a -> c -> b -> a",
    );
  });

  it("handles a very long chain of needs without running out of stack", () => {
    const lines = ["version: 5", "actions:"];
    for (let i = 0; i < 5000; i++) {
      const needs = i > 0 ? `, needs: [a${i - 1}]` : "";
      lines.push(`  a${i}: {run: "python:v2 ${i}.py"${needs}, outputs: {highly_sensitive: {o: o/${i}.csv}}}`);
    }
    expect(parseProject(lines.join("\n")).allActions).toHaveLength(5000);
  });
});

describe("buildRunCommand", () => {
  function only(action: string): string {
    const pipeline = parseProject(
      `version: 4\nactions:\n  a:\n    ${action.replaceAll("\n", "\n    ")}\n    outputs: {highly_sensitive: {x: x.csv}}\n`,
    );
    const built = pipeline.actions.get("a");
    if (built === undefined) throw new Error("no action");
    return buildRunCommand(built);
  }

  it("joins the words with Python's quoting and appends json.dumps(config) with ' as \\u0027", () => {
    expect(only(`run: python:v2 filter.py F "qu'ote.csv"`)).toBe(`python:v2 filter.py F 'qu'"'"'ote.csv'`);
    expect(
      only(`run: python:v2 count.py\nconfig: {files: [a.csv, "qu'ote.csv"], n: 1.0, m: 2, ok: true}`),
    ).toBe(
      `python:v2 count.py --config '{"files": ["a.csv", "qu\\u0027ote.csv"], "n": 1.0, "m": 2, "ok": true}'`,
    );
  });

  it("keeps config keys in file order, even number-like ones", () => {
    expect(only("run: r:v2 x.R\nconfig: {b: 1, '2020': 2, a: 3}")).toBe(
      `r:v2 x.R --config '{"b": 1, "2020": 2, "a": 3}'`,
    );
  });

  it("adds nothing for an empty config, as the reference tests the dict's truth", () => {
    expect(only("run: r:v2 x.R\nconfig: {}")).toBe("r:v2 x.R");
  });

  it.skipIf(!corpus)("renders job-runner's full_project fixture as the reference does", () => {
    const text = readFileSync(
      join(corpusDir, "projects", "job-runner--tests-fixtures-full_project-project.yaml"),
    );
    const actions = parseProject(text).actions;
    const command = (name: string): string => {
      const action = actions.get(name);
      if (action === undefined) throw new Error(name);
      return buildRunCommand(action);
    };
    expect(command("prepare_data_with_quote_in_filename_ehrql")).toBe(
      `python:v2 analysis/filter_by_sex.py F output/dataset.csv 'ehrql-qu'"'"'ote.csv'`,
    );
    expect(command("analyse_data_ehrql")).toBe(
      `python:v2 analysis/count_lines.py ehrql-counts.txt --config '{"files": ["ehrql-male.csv", "ehrql-female.csv", "ehrql-qu\\u0027ote.csv"]}'`,
    );
    expect(command("copy_highly_sensitive_data")).toBe(
      `python:v2 -c 'import shutil; shutil.copyfile("output/dataset.csv", "output/data.csv")'`,
    );
  });
});

describe("isDatabaseAction", () => {
  it.each([
    [["ehrql:v1", "generate-dataset"], true],
    [["ehrql:v1", "generate-measures"], true],
    [["ehrql:v1", "dump-dataset-sql"], false],
    [["ehrql:v1"], false],
    [["sqlrunner:v1"], true],
    [["cohortextractor:latest", "generate_codelist_report"], true],
    [["cohortextractor:latest", "generate_measures"], false],
    [["databuilder:v0", "generate_dataset"], false],
    [["ghcr.io/opensafely-core/ehrql:v1", "generate-dataset"], false],
    [[], false],
  ])("%j → %s", (parts, expected) => {
    expect(isDatabaseAction(parts)).toBe(expected);
  });
});

describe("properties", () => {
  const IMAGES = ["python", "r", "stata-mp", "jupyter", "kaplan-meier-function"];
  const HIGH_EXTENSIONS = [".csv", ".arrow", ".rds", ".feather", ".dta", ".csv.gz"];
  const LEVEL_4_EXTENSIONS = [".csv", ".png", ".html", ".txt", ".json", ".md", ".svg"];

  const word = fc.stringMatching(/^[A-Za-z0-9_./=-]{1,10}$/);
  const awkwardWord = fc.string({ minLength: 1, maxLength: 8 });
  const scalar = fc.oneof(fc.string({ maxLength: 10 }), fc.integer({ min: -1000, max: 1000 }), fc.boolean());

  const projectSpec = fc
    .record({
      version: fc.constantFrom(3, 4, 5),
      versionStyle: fc.constantFrom("number", "quoted"),
      names: fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9_]{0,10}$/), { minLength: 1, maxLength: 8 }),
      flowNeeds: fc.boolean(),
    })
    .chain((base) =>
      fc.record({
        base: fc.constant(base),
        actions: fc.tuple(
          ...base.names.map((name, index) =>
            fc.record({
              name: fc.constant(name),
              image: fc.constantFrom(...IMAGES),
              tag: fc.constantFrom("v1", "v2", "v1.2.3", "dev", ...(base.version < 5 ? ["latest"] : [])),
              args: fc.array(fc.oneof(word, awkwardWord), { maxLength: 4 }),
              needs: fc.subarray(base.names.slice(0, index)),
              outputs: fc.array(
                fc.record({
                  level: fc.constantFrom("highly_sensitive", "moderately_sensitive", "minimally_sensitive"),
                  highExtension: fc.constantFrom(...HIGH_EXTENSIONS),
                  level4Extension: fc.constantFrom(...LEVEL_4_EXTENSIONS),
                }),
                { minLength: 1, maxLength: 3 },
              ),
              config: fc.option(fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), scalar, { maxKeys: 3 })),
            }),
          ),
        ),
      }),
    );

  it("a generated valid project always parses, and gives back what was written", () => {
    fc.assert(
      fc.property(projectSpec, ({ base, actions }) => {
        const lines: string[] = [
          `version: ${base.versionStyle === "quoted" ? `'${base.version}.0'` : base.version}`,
        ];
        if (base.version === 3) lines.push("expectations:", "  population_size: 500");
        lines.push("actions:");
        const expected = new Map<
          string,
          { parts: string[]; needs: string[]; outputs: object; config: unknown }
        >();
        for (const action of actions) {
          // The action name keeps every run string distinct.
          const parts = [`${action.image}:${action.tag}`, action.name, ...action.args];
          const outputs: Record<string, Record<string, string>> = {};
          action.outputs.forEach((output, index) => {
            const extension =
              output.level === "moderately_sensitive" ? output.level4Extension : output.highExtension;
            outputs[output.level] ??= {};
            (outputs[output.level] as Record<string, string>)[`out${index}`] =
              `output/${action.name}/file${index}${extension}`;
          });
          lines.push(`  ${action.name}:`, `    run: ${JSON.stringify(parts.map(shlexQuote).join(" "))}`);
          if (action.needs.length > 0) {
            if (base.flowNeeds) lines.push(`    needs: [${action.needs.join(", ")}]`);
            else lines.push("    needs:", ...action.needs.map((need) => `      - ${need}`));
          }
          if (action.config !== null) lines.push(`    config: ${JSON.stringify(action.config)}`);
          lines.push("    outputs:");
          for (const [level, entries] of Object.entries(outputs)) {
            lines.push(`      ${level}:`);
            for (const [name, path] of Object.entries(entries)) lines.push(`        ${name}: ${path}`);
          }
          expected.set(action.name, { parts, needs: action.needs, outputs, config: action.config });
        }
        const pipeline: Pipeline = parseProject(lines.join("\n"));
        expect(pipeline.version).toBe(base.version);
        expect(pipeline.expectations).toEqual(base.version === 3 ? { population_size: 500 } : null);
        expect(pipeline.allActions).toEqual(base.names);
        for (const [name, action] of pipeline.actions) {
          const want = expected.get(name);
          expect(action.run.parts).toEqual(want?.parts);
          expect(action.needs).toEqual(want?.needs);
          expect(action.outputs).toEqual(want?.outputs);
          expect(action.config).toEqual(want?.config);
        }
      }),
      { numRuns: 100 },
    );
  });

  const FRAGMENTS = [
    "version: 3",
    "version: '4.0'",
    "version: 5",
    "expectations: {population_size: 10}",
    "actions:",
    "  a:",
    "  b:",
    "    run: ",
    "python:v2 a.py",
    "ehrql:v1 generate-dataset --output out.csv",
    "cohortextractor:latest generate_cohort",
    "    needs: [a]",
    "    needs: [b, 2017]",
    "    outputs:",
    "      highly_sensitive:",
    "      moderately_sensitive:",
    "        x: out.csv",
    "        y: out/*.rds",
    "    config: {a: 1.0}",
    '"',
    "'",
    "- ",
    ": ",
    "[",
    "]",
    "{",
    "}",
    ", ",
    "\n",
    "  ",
    "\t",
    "&x ",
    "*x",
    "<<: ",
    "!!int ",
    "!!map ",
    "|",
    ">-",
    "# c",
    "---",
    "...",
    "%YAML 1.2\n",
    "~",
    "null",
    "\\",
    "?",
    "\u2028",
    "\ufeff",
  ];
  const yamlish = fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 40 }).map((parts) => parts.join(""));

  function onlyValidationErrors(input: string | Uint8Array): void {
    try {
      parseProject(input);
    } catch (error) {
      expect(error).toBeInstanceOf(ProjectValidationError);
    }
  }

  it("no YAML-like input makes the parser throw anything but ProjectValidationError", () => {
    fc.assert(fc.property(yamlish, onlyValidationErrors), { numRuns: 2000 });
  });

  it("no arbitrary text or bytes make the parser throw anything but ProjectValidationError", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 200 }), onlyValidationErrors), {
      numRuns: 500,
    });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), onlyValidationErrors), { numRuns: 500 });
  });

  it("no deeply nested input makes the parser throw anything but ProjectValidationError", () => {
    const opener = fc.constantFrom("[", "{a: ", "- ", "? ", "&x [", "!!map {");
    fc.assert(
      fc.property(
        opener,
        fc.integer({ min: 900, max: 3000 }),
        fc.constantFrom(...FRAGMENTS),
        (open, depth, tail) => {
          const text =
            open === "- " ? Array.from({ length: depth }, (_, i) => `${" ".repeat(i)}- `).join("\n") : "";
          onlyValidationErrors(`version: 5\nactions: ${text || open.repeat(depth)}${tail}`);
        },
      ),
      { numRuns: 30 },
    );
  });

  it("no edit of a valid project makes the parser throw anything but ProjectValidationError", () => {
    const edit = fc.record({
      at: fc.nat({ max: PROJECT.length }),
      remove: fc.nat({ max: 3 }),
      insert: fc.constantFrom(...FRAGMENTS, "", "x"),
    });
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
        let text = PROJECT;
        for (const { at, remove, insert } of edits)
          text = text.slice(0, at) + insert + text.slice(at + remove);
        onlyValidationErrors(text);
      }),
      { numRuns: 1000 },
    );
  });
});
