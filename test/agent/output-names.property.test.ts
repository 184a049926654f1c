/**
 * Fuzzing the class of input behind issue 14 item 3: output file names of arbitrary bytes (anything Linux allows:
 * no `/`, no NUL, up to 255 bytes), written into a real temp volume beside an ordinary output. Finalize never
 * throws, the ordinary output is always kept, and logs.txt stays line-safe.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { shownName } from "../../src/agent/workspace/names.js";
import { jobLogDir } from "../../src/agent/workspace/paths.js";
import { AgentStage } from "../../src/domain/task.js";
import { type AgentFixture, agentFixture } from "./support.js";

const SLASH = 0x2f;

/** A file name Linux accepts: 1 to 255 bytes, no `/` or NUL, not `.` or `..`. */
const fileName = fc
  .uint8Array({ minLength: 1, maxLength: 255 })
  .map((bytes) => Buffer.from(bytes.map((b) => (b === 0 || b === SLASH ? 0x61 : b))))
  .filter((name) => name.toString("latin1") !== "." && name.toString("latin1") !== "..");

/** Bytes that must never reach logs.txt raw: C0 controls but the newline, DEL, ESC's CSI (C1) and friends. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is looked for.
const UNSAFE_IN_LOG = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

describe("arbitrary byte-string output names", () => {
  let f: AgentFixture;
  beforeAll(async () => {
    f = await agentFixture();
  });
  afterAll(() => f.cleanup());

  test("shownName never lets a control character or a line break through, and leaves ordinary names alone", () => {
    fc.assert(
      fc.property(fileName, (name) => {
        const shown = shownName(name);
        expect(shown).not.toMatch(UNSAFE_IN_LOG);
        expect(shown).not.toContain("\n");
      }),
      { numRuns: 2000 },
    );
    expect(shownName("output/model 1 (final).csv")).toBe("output/model 1 (final).csv");
    expect(shownName("résumé/数据.csv")).toBe("résumé/数据.csv");
  });

  test("finalize never throws, the ordinary output is kept, and logs.txt stays line-safe", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fileName, { minLength: 1, maxLength: 4, comparator: (a, b) => a.equals(b) }),
        async (names) => {
          const job = f.job({
            output_spec: { "output/*": "moderately_sensitive", "output/keep.csv": "highly_sensitive" },
          });
          f.runtime.program =
            () =>
            async ({ spec }: { spec: { volumeDir: string } }) => {
              await mkdir(join(spec.volumeDir, "output"), { recursive: true });
              await writeFile(join(spec.volumeDir, "output", "keep.csv"), "a,b\n1,2\n");
              for (const name of names) {
                if (name.toString("latin1") === "keep.csv") continue;
                await writeFile(Buffer.concat([Buffer.from(`${spec.volumeDir}/output/`), name]), "data\n");
              }
              return 0;
            };
          const ex = f.executor();
          await ex.prepare(job);
          await ex.execute(job);
          await f.runtime.finished(`os-job-${job.id}`);
          await ex.finalize(job);
          const status = await ex.getStatus(job);
          await ex.cleanup(job);

          expect(status.state).toBe(AgentStage.Finalized);
          expect(status.results.outputs).toHaveProperty(["output/keep.csv"], "highly_sensitive");
          const logs = await f.read(join(jobLogDir(f.layout, job), "logs.txt"));
          const summary = logs.slice(logs.indexOf("\n=============JOB SUMMARY=============\n"));
          expect(summary).not.toMatch(UNSAFE_IN_LOG);
          const lines = summary.split("\n");
          expect(lines.filter((line) => line === "=============JOB SUMMARY=============")).toHaveLength(1);
          // One table line per output: no name spills onto a line of its own.
          const outputsTable = lines.slice(lines.indexOf("outputs:") + 1);
          const rows = outputsTable.slice(
            0,
            outputsTable.findIndex((line) => !line.startsWith("  ")),
          );
          expect(rows).toHaveLength(Object.keys(status.results.outputs as object).length);
        },
      ),
      { numRuns: 25 },
    );
  }, 120_000);
});
