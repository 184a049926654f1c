/**
 * Large project files are parsed on a thread of their own (src/jobs/parse-project.ts): the result and the errors
 * are exactly those of parsing on the calling thread.
 */
import { describe, expect, test } from "vitest";
import { parseProjectFile, WORKER_FROM_BYTES } from "../../src/jobs/parse-project.js";
import { plannable } from "../../src/jobs/plannable.js";
import { ProjectValidationError, parseProject } from "../../src/pipeline/index.js";

/** A project of `count` chained actions, each with a config holding a float and a date, padded by a comment. */
function project(count: number, padding = 0): Buffer {
  const actions = Array.from(
    { length: count },
    (_, i) =>
      `  a${i}:\n    run: python:v2 a.py ${i}\n${i > 0 ? `    needs: [a${i - 1}]\n` : ""}` +
      `    config: {ratio: 1.0, day: 2024-01-02, name: "it's"}\n    outputs: {moderately_sensitive: {t: o/${i}.csv}}\n`,
  );
  return Buffer.from(
    `version: "3.0"\nexpectations: {population_size: 10}\n# ${"x".repeat(padding)}\nactions:\n${actions.join("")}`,
  );
}

describe("parseProjectFile", () => {
  test("a large file, parsed on a worker thread, gives what parsing here gives", async () => {
    const bytes = project(2000);
    expect(bytes.byteLength).toBeGreaterThan(WORKER_FROM_BYTES);
    const fromWorker = await parseProjectFile(bytes);
    expect(fromWorker).toEqual(plannable(parseProject(bytes)));
    expect(fromWorker.actions.get("a1")!.runCommand).toBe(
      `python:v2 a.py 1 --config '{"ratio": 1.0, "day": "2024-01-02", "name": "it\\u0027s"}'`,
    );
  });

  test("a small file is parsed on the calling thread, with the same result", async () => {
    const bytes = project(3);
    expect(bytes.byteLength).toBeLessThan(WORKER_FROM_BYTES);
    expect(await parseProjectFile(bytes)).toEqual(plannable(parseProject(bytes)));
  });

  test.each([
    ["a YAML error", Buffer.concat([project(1, WORKER_FROM_BYTES), Buffer.from("  broken: [\n")])],
    [
      "a rule broken, after a warning",
      Buffer.from(
        `${project(1, WORKER_FROM_BYTES)}  again:\n    run: python:v2 a.py 0\n    outputs: {moderately_sensitive: {t: o/x.csv}}\n`,
      ),
    ],
  ])("%s from the worker is the same ProjectValidationError", async (what, bytes) => {
    let expected: ProjectValidationError | undefined;
    try {
      parseProject(bytes);
    } catch (error) {
      expected = error as ProjectValidationError;
    }
    expect(expected).toBeInstanceOf(ProjectValidationError);
    expect(expected!.warnings.length).toBe(what.includes("warning") ? 1 : 0);
    const thrown = await parseProjectFile(bytes).catch((error: unknown) => error);
    expect(thrown).toBeInstanceOf(ProjectValidationError);
    const { message, kind, detail, warnings } = thrown as ProjectValidationError;
    expect({ message, kind, detail, warnings }).toEqual({
      message: expected!.message,
      kind: expected!.kind,
      detail: expected!.detail,
      warnings: expected!.warnings,
    });
  });
});
