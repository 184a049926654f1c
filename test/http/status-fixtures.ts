/** Jobs and RUNJOB tasks seeded directly in the database for the rap/status tests (reference/scenarios.md group E). */
import type { Db } from "../../src/db/index.js";
import { insertTask, recordAgentUpdate } from "../../src/db/queries/tasks.js";
import type { Job } from "../../src/domain/job.js";
import { makeJob } from "../support/factories.js";

export const X = "abcdefgh23456789";
export const T = 1700000000;
export const TRACE = { traceparent: "00-0123456789abcdef0123456789abcdef-0123456789abcdef-01" };

/** A job of RAP X at time T, with a trace context. */
export function job(overrides: Partial<Job> = {}): Job {
  return makeJob({
    rapId: X,
    action: "generate_dataset",
    createdAt: T,
    updatedAt: T,
    traceContext: TRACE,
    ...overrides,
  });
}

/** A RUNJOB task of the job numbered `number`, with these results reported (none when null). */
export async function runJobTask(
  db: Db,
  jobId: string,
  number: number,
  results: Record<string, unknown> | null,
) {
  const id = `${jobId}-${String(number).padStart(3, "0")}`;
  await insertTask(db, {
    id,
    backend: "test",
    type: "runjob",
    jobId,
    definition: {},
    attributes: {},
    createdAt: T,
  });
  if (results)
    await recordAgentUpdate(
      db,
      "test",
      id,
      { stage: "executing", results, complete: false, timestampNs: null },
      T,
    );
}
