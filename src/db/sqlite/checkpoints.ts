/**
 * Checkpoints off the event loop. In WAL mode a commit appends its pages to the log, and by default the commit that
 * takes the log past 1,000 pages (4 MiB) also copies the log into the database file and syncs both to disk: on the
 * controller's one connection, inside a request. A create of a few thousand jobs writes that much, so about every
 * other large create paid for a checkpoint, tens to hundreds of milliseconds of disk sync on a busy machine, with
 * the event loop held the while. Here a worker thread with its own connection checkpoints every few hundred
 * milliseconds instead, and the main connection checkpoints only if the log grows far beyond that (the thread
 * stopped, or a writer outpacing it), so the log stays bounded either way.
 *
 * The thread starts with the first create (the writer of megabytes), not with the storage: a process that never
 * creates (an operator command, most tests) does not pay for starting it, and keeps SQLite's own checkpoints.
 */
import { sql } from "kysely";
import { startWorker } from "../../threads/start.js";
import { type Db, databaseFile } from "../index.js";

/** How often the thread checkpoints. */
const INTERVAL_MS = 200;
/** The main connection's own automatic checkpoint once the thread runs, a fallback: 16,384 pages, 64 MiB of log. */
export const FALLBACK_AUTOCHECKPOINT_PAGES = 16_384;

export class BackgroundCheckpoints {
  private started: Promise<{ close(): Promise<void> }> | undefined;

  private constructor(
    private readonly db: Db,
    private readonly path: string,
  ) {}

  /** Checkpoints for `db`, to start when a create first needs them; undefined for a database without a file. */
  static for(db: Db): BackgroundCheckpoints | undefined {
    const path = databaseFile(db);
    return path === undefined ? undefined : new BackgroundCheckpoints(db, path);
  }

  /** Starts the thread (once), then leaves the main connection only the fallback. */
  start(): Promise<unknown> {
    this.started ??= this.run();
    return this.started;
  }

  private async run() {
    const worker = startWorker(import.meta.url, "checkpoint-worker", {
      workerData: { path: this.path, intervalMs: INTERVAL_MS },
    });
    // The server's socket keeps the process alive; the checkpoint thread must not.
    worker.unref();
    const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
    // A thread that fails leaves the checkpoints to the main connection's fallback; nothing is lost.
    worker.on("error", () => undefined);
    await sql.raw(`pragma wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT_PAGES}`).execute(this.db);
    return {
      async close() {
        // Waited for: an unreferenced thread would let the process end with this promise pending.
        worker.ref();
        worker.postMessage("close");
        await exited;
      },
    };
  }

  async close(): Promise<void> {
    const running = await this.started?.catch(() => undefined);
    await running?.close();
  }
}
