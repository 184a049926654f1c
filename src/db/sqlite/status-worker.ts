/**
 * A status worker thread (./status-workers.ts): its own connection to the database file, printing the jobs it is
 * sent. SQLite in WAL mode lets several connections read at once, each seeing committed data only.
 */
import { parentPort, workerData } from "node:worker_threads";
import { openDatabase } from "../index.js";
import { printedJobs } from "./status-render.js";
import type { WorkerReply, WorkerRequest } from "./status-workers.js";

const port = parentPort!;
// A smaller page cache than the main connection's: there may be several workers, and the OS caches the file too.
const db = await openDatabase({ path: (workerData as { path: string }).path }, { pageCacheMiB: 64 });

port.on("message", (request: WorkerRequest) => {
  printedJobs(db, request.keys).then(
    (printed) =>
      port.postMessage({ id: request.id, printed } satisfies WorkerReply, transferable(printed.json)),
    (error: unknown) =>
      port.postMessage({
        id: request.id,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      } satisfies WorkerReply),
  );
});

/** The bytes' memory, handed over rather than copied, unless it is shared with other buffers (Node's small-buffer pool). */
function transferable(bytes: Uint8Array): ArrayBuffer[] {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  return whole && bytes.buffer instanceof ArrayBuffer ? [bytes.buffer] : [];
}
