/**
 * Fuzzing the Task API's update endpoint (issue 14): arbitrary numbers (huge, fractional, NaN, 1e400), times,
 * long strings and deep nesting in any field of an agent's update never get a 5xx, and never break what comes after:
 * a scheduler pass, rap/status, backend/status and `rap jobs` keep answering.
 */
import fc from "fast-check";
import { afterAll, beforeAll, expect, test } from "vitest";
import { deterministicJobId } from "../../src/domain/ids.js";
import { formatJobTable, listJobs } from "../../src/ops/jobs.js";
import { FX_ACT } from "../jobs/fixtures.js";
import { createRap, studyRepo } from "../scheduler/support.js";
import { type System, startSystem, T0_MS } from "../support/system.js";

let system: System;
let rap: string;
let taskId: string;
beforeAll(async () => {
  system = await startSystem();
  rap = await createRap(system, await studyRepo(FX_ACT), ["action1", "action2"]);
  await system.tick();
  taskId = `${deterministicJobId(rap, "action1")}-001`;
});
afterAll(async () => system?.close());

/** Numbers as an agent could write them: JSON's, Python's extensions, and far beyond a double. */
const numberText = fc.oneof(
  fc.integer().map(String),
  fc
    .double()
    .map((d) =>
      Number.isNaN(d) ? "NaN" : Number.isFinite(d) ? String(d) : d > 0 ? "Infinity" : "-Infinity",
    ),
  fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map(String),
  fc.integer({ min: -5, max: 5 }).map((n) => String(BigInt(T0_MS) * 1_000_000n + BigInt(n) * 10n ** 12n)),
  fc.constantFrom(
    "1e300",
    "-1e300",
    "1e400",
    "1.5",
    "0",
    "-0",
    "1700000000000000000.5",
    `9${"9".repeat(300)}`,
  ),
);
const stringText = fc
  .oneof(
    { weight: 4, arbitrary: fc.string({ unit: "grapheme" }) },
    { weight: 1, arbitrary: fc.integer({ min: 9_000, max: 30_000 }).map((n) => "é".repeat(n)) },
  )
  .map((s) => JSON.stringify(s));
const nested = fc
  .integer({ min: 200, max: 3000 })
  .chain((depth) =>
    fc.constantFrom(
      `${"[".repeat(depth)}${"]".repeat(depth)}`,
      `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`,
    ),
  );
const { value } = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    numberText,
    stringText,
    fc.constantFrom("null", "true", "false"),
    nested,
    fc.array(tie("value"), { maxLength: 4 }).map((items) => `[${items.join(",")}]`),
    fc
      .array(
        fc.tuple(
          fc.oneof(
            fc.constantFrom(
              "exit_code",
              "timestamp_ns",
              "created_at",
              "completed_at",
              "job_metrics",
              "status_message",
              "error",
              "cpu_peak",
            ),
            fc.string(),
          ),
          tie("value"),
        ),
        { maxLength: 4 },
      )
      .map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`),
  ),
}));
const field = (name: string, text: fc.Arbitrary<string>) =>
  fc.option(
    text.map((t) => `${JSON.stringify(name)}:${t}`),
    { nil: undefined, freq: 4 },
  );
const payload = fc
  .tuple(
    field(
      "task_id",
      fc.oneof(
        { weight: 5, arbitrary: fc.constant(null).map(() => JSON.stringify(taskId)) },
        { weight: 1, arbitrary: value },
      ),
    ),
    field(
      "stage",
      fc.oneof(fc.constantFrom('"preparing"', '"executing"', '"finalized"', '"error"', '""'), value),
    ),
    field(
      "complete",
      fc.oneof({ weight: 4, arbitrary: fc.constantFrom("true", "false") }, { weight: 1, arbitrary: value }),
    ),
    field("timestamp_ns", fc.oneof(numberText, fc.constantFrom('""', "null"), value)),
    field("results", value),
  )
  .map((fields) => `{${fields.filter((f) => f !== undefined).join(",")}}`);

test("any task update is answered below 500, and rap/status, backend/status, rap jobs and a pass keep working", async () => {
  await fc.assert(
    fc.asyncProperty(payload, async (text) => {
      const response = await fetch(`${system.url}/test/task/update/`, {
        method: "POST",
        headers: { authorization: "agent_token", "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ payload: text }).toString(),
      });
      const body = await response.text();
      expect(response.status, body).toBeLessThan(500);
      expect(() => JSON.parse(body)).not.toThrow();
      await system.tick();
      const status = await system.post("/rap/status/", { rap_ids: [rap] });
      expect(status.status).toBe(200);
      expect(status.json.jobs).toHaveLength(2);
      expect((await system.get("/backend/status/")).status).toBe(200);
      const { jobs } = await listJobs(system.controller.storage.jobs, { limit: 10 });
      expect(formatJobTable(jobs)).toContain(rap);
    }),
    { numRuns: 150 },
  );
});
