/**
 * A file worker thread (./file-workers.ts): does the file work it is sent with synchronous system calls, one
 * request at a time, so a job's thousand files cost no hand-over between threads and never hold up the agent's loop.
 */
import { rmSync } from "node:fs";
import { parentPort } from "node:worker_threads";
import { copyBatchSync } from "./copy-sync.js";
import type { FileWork, FileWorkerReply } from "./file-workers.js";
import { listVolumeSync } from "./volume-listing.js";

const port = parentPort!;

function perform(work: FileWork): unknown {
  switch (work.op) {
    case "copy":
      return copyBatchSync(work.items, work.options);
    case "list":
      return listVolumeSync(work.dir);
    case "remove":
      return rmSync(work.dir, { recursive: true, force: true });
  }
}

port.on("message", ({ id, work }: { id: number; work: FileWork }) => {
  try {
    port.postMessage({ id, result: perform(work) } satisfies FileWorkerReply);
  } catch (error) {
    const { message, code, path } = error as NodeJS.ErrnoException;
    port.postMessage({
      id,
      error: { message: String(message ?? error), code, path },
    } satisfies FileWorkerReply);
  }
});
