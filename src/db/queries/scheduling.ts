/** What the scheduler keeps in the database besides jobs and tasks: its lease and each job's failed handlings. */
import { sql } from "kysely";
import type { Db } from "../index.js";
import { chunked } from "../json.js";

/** The one lease there is today: the scheduler's. */
const SCHEDULER = "scheduler";

/** Who holds the lease and until when (Unix milliseconds). */
export interface Lease {
  holder: string;
  expiresAtMs: number;
}

/**
 * Takes the lease for `holder` until `nowMs + ttlMs` when it is free, expired or already its own, in one statement
 * (an upsert whose update applies only then). Returns the lease as it stands afterwards: `holder`'s, or another's.
 */
export async function acquireLease(db: Db, holder: string, nowMs: number, ttlMs: number): Promise<Lease> {
  const taken = await db
    .insertInto("scheduler_lease")
    .values({ name: SCHEDULER, holder, expires_at_ms: nowMs + ttlMs })
    .onConflict((oc) =>
      oc
        .column("name")
        .doUpdateSet({ holder, expires_at_ms: nowMs + ttlMs })
        .where((eb) =>
          eb.or([
            eb("scheduler_lease.holder", "=", holder),
            eb("scheduler_lease.expires_at_ms", "<=", nowMs),
          ]),
        ),
    )
    .returning(["holder", "expires_at_ms"])
    .executeTakeFirst();
  const row =
    taken ??
    (await db
      .selectFrom("scheduler_lease")
      .select(["holder", "expires_at_ms"])
      .where("name", "=", SCHEDULER)
      .executeTakeFirstOrThrow());
  return { holder: row.holder, expiresAtMs: Number(row.expires_at_ms) };
}

/** Extends `holder`'s lease to `nowMs + ttlMs`; false when another holder has taken it. */
export async function renewLease(db: Db, holder: string, nowMs: number, ttlMs: number): Promise<boolean> {
  const result = await db
    .updateTable("scheduler_lease")
    .set({ expires_at_ms: nowMs + ttlMs })
    .where("name", "=", SCHEDULER)
    .where("holder", "=", holder)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** The lease as it stands (it may have expired), or undefined when no scheduler has taken it or it was released. */
export async function readLease(db: Db): Promise<Lease | undefined> {
  const row = await db
    .selectFrom("scheduler_lease")
    .select(["holder", "expires_at_ms"])
    .where("name", "=", SCHEDULER)
    .executeTakeFirst();
  return row && { holder: row.holder, expiresAtMs: Number(row.expires_at_ms) };
}

/** Gives the lease up, if `holder` still holds it. */
export async function releaseLease(db: Db, holder: string): Promise<void> {
  await db.deleteFrom("scheduler_lease").where("name", "=", SCHEDULER).where("holder", "=", holder).execute();
}

/** Every job with failed handlings and how many (a small table: a job leaves it once handled or failed). */
export async function handlingFailures(db: Db): Promise<Map<string, number>> {
  const rows = await db.selectFrom("job_handling_failures").select(["job_id", "failures"]).execute();
  return new Map(rows.map((row) => [row.job_id, row.failures]));
}

/** Counts one more failed handling of the job; returns the count. */
export async function recordHandlingFailure(db: Db, jobId: string): Promise<number> {
  const row = await db
    .insertInto("job_handling_failures")
    .values({ job_id: jobId, failures: 1 })
    .onConflict((oc) =>
      oc.column("job_id").doUpdateSet({ failures: sql`job_handling_failures.failures + 1` }),
    )
    .returning("failures")
    .executeTakeFirstOrThrow();
  return row.failures;
}

export async function clearHandlingFailures(db: Db, jobIds: readonly string[]): Promise<void> {
  for (const batch of chunked([...new Set(jobIds)]))
    await db.deleteFrom("job_handling_failures").where("job_id", "in", batch).execute();
}
