/** Chosen jobs of a `POST rap/status/` answer, printed; runs on the main thread or a status worker. */
import type { Db } from "../index.js";
import { type PrintedJobs, printJobs } from "../status/rendered-jobs.js";
import { readExactTimes, renderBatch } from "./rap-status.js";

export async function printedJobs(db: Db, keys: readonly string[]): Promise<PrintedJobs> {
  const batch = await renderBatch(db, keys);
  const first = printJobs(batch);
  if ("printed" in first) return first.printed;
  const again = printJobs(batch, await readExactTimes(db, first.inexact));
  if ("printed" in again) return again.printed;
  throw new Error(`rap/status: the times of job ${again.inexact[0]} cannot be read`);
}
