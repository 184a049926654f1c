/**
 * Checkpoints off the event loop. In WAL mode a commit appends its pages to the log, and by default the commit that
 * takes the log past 1,000 pages (4 MiB) also copies the log into the database file and syncs both to disk: on the
 * controller's one connection, inside a request. A create of a few thousand jobs writes that much, so about every
 * other large create paid for a checkpoint, tens to hundreds of milliseconds of disk sync on a busy machine, with
 * the event loop held the while. Here a worker thread with its own connection checkpoints every few hundred
 * milliseconds instead, and the main connection checkpoints only if the log grows far beyond that (the thread
 * stopped, or a writer outpacing it), so the log stays bounded either way.
 */
import { sql } from "kysely";
import { startWorker } from "../../threads/start.js";
import { type Db, databaseFile } from "../index.js";

/** How often the thread checkpoints. */
const INTERVAL_MS = 200;
/** The main connection's own automatic checkpoint, a fallback: 16,384 pages of 4 KiB, 64 MiB of log. */
export const FALLBACK_AUTOCHECKPOINT_PAGES = 16_384;

export interface BackgroundCheckpoints {
  close(): Promise<void>;
}

/**
 * Leaves `db`'s checkpoints to a thread of their own; undefined for a database without a file (`:memory:`), which
 * has no log.
 */
export async function checkpointInBackground(db: Db): Promise<BackgroundCheckpoints | undefined> {
  const path = databaseFile(db);
  if (path === undefined) return undefined;
  await sql.raw(`pragma wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT_PAGES}`).execute(db);
  const worker = startWorker(import.meta.url, "checkpoint-worker", {
    workerData: { path, intervalMs: INTERVAL_MS },
  });
  // The server's socket keeps the process alive; the checkpoint thread must not.
  worker.unref();
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  // A thread that fails leaves the checkpoints to the main connection's fallback; nothing is lost.
  worker.on("error", () => undefined);
  return {
    async close() {
      // Waited for: an unreferenced thread would let the process end with this promise pending.
      worker.ref();
      worker.postMessage("close");
      await exited;
    },
  };
}
