/**
 * A job's log file followed as it is written (the runtimes' `follow`, for `rap logs -f` and live logs), for
 * runtimes whose jobs write their output to a file the agent can read: the local runtime's log, or the live log a
 * Slurm job's batch script writes on shared storage.
 */
import { type FileHandle, open, stat } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { orIfMissing } from "../workspace/files.js";

/** How often a followed file is looked at: a person watching notices no lag, and a look costs two stat calls. */
const FOLLOW_POLL_MS = 250;
const FOLLOW_CHUNK_BYTES = 64 * 1024;

/**
 * The bytes of the file at `path` as they are written, until `ended` says its writer is done or `signal` aborts.
 * `ended` is asked before each read, so the last read holds everything written. The file is read through an open
 * descriptor: when it is rotated (a new file at the path) or removed as soon as the job ends, its last bytes can
 * still be read. Only a chunk at a time is held.
 */
export async function* followFile(
  path: string,
  ended: () => Promise<boolean>,
  signal: AbortSignal,
): AsyncIterable<Buffer> {
  let log: FileHandle | null = null;
  try {
    while (!signal.aborted) {
      const done = await ended();
      const file = await stat(path).catch(orIfMissing(null));
      if (log && file && file.ino !== (await log.stat()).ino) {
        yield* readToEnd(log);
        await log.close();
        log = null;
      }
      if (!log && file) log = await open(path, "r").catch(orIfMissing(null));
      if (log) yield* readToEnd(log);
      if (done) return;
      await sleep(FOLLOW_POLL_MS, undefined, { signal }).catch(() => undefined);
    }
  } finally {
    await log?.close();
  }
}

async function* readToEnd(file: FileHandle): AsyncIterable<Buffer> {
  for (;;) {
    const buffer = Buffer.alloc(FOLLOW_CHUNK_BYTES);
    const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
    if (bytesRead === 0) return;
    yield buffer.subarray(0, bytesRead);
  }
}
