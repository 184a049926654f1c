/**
 * A transaction held open across several pieces of work, each run as a savepoint so that one that fails rolls back
 * alone: the scheduler writes many jobs' changes in one commit (a commit per job costs SQLite a WAL write of every
 * page the job touched, PostgreSQL a flush), while a job that cannot change still leaves the others' changes.
 * Portable SQL (SAVEPOINT, RELEASE, ROLLBACK TO) that SQLite and PostgreSQL share.
 */
import { sql } from "kysely";
import type { Db } from "./index.js";
import type { OpenTransaction, Stores } from "./storage.js";

/** One name serves: each savepoint is released or rolled back before the next is made. */
const STEP = sql.raw("rap_step");

export async function openTransaction(
  db: Db,
  storesOn: (db: Db) => Stores,
  maxSteps: number,
): Promise<OpenTransaction> {
  const trx = await db.startTransaction().execute();
  const stores = storesOn(trx);
  // Set when a failed step could not be rolled back alone (the database ended the whole transaction, as SQLite
  // does on a full disk): no step or commit can follow, and the commit reports why.
  let lost: unknown;
  let ended = false;
  const usable = () => {
    if (lost !== undefined) throw lost;
    if (ended) throw new Error("the transaction has ended");
  };
  const open: OpenTransaction = {
    stores,
    maxSteps,
    async step<T>(work: (stores: Stores) => Promise<T>): Promise<T> {
      usable();
      await sql`savepoint ${STEP}`.execute(trx);
      let result: T;
      try {
        result = await work(stores);
      } catch (error) {
        try {
          await sql`rollback to savepoint ${STEP}`.execute(trx);
          await sql`release savepoint ${STEP}`.execute(trx);
        } catch {
          lost = error;
        }
        throw error;
      }
      await sql`release savepoint ${STEP}`.execute(trx);
      return result;
    },
    async commit(): Promise<void> {
      if (lost === undefined && !ended) {
        try {
          await trx.commit().execute();
          ended = true;
          return;
        } catch (error) {
          lost = error;
        }
      }
      await open.rollback().catch(() => undefined);
      throw lost ?? new Error("the transaction has ended");
    },
    async rollback(): Promise<void> {
      if (ended) return;
      ended = true;
      await trx.rollback().execute();
    },
  };
  return open;
}
