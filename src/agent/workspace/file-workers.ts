/**
 * The worker threads that do a job's file work: copy its files (inputs into its volume, outputs into the
 * workspaces, logs), list its volume and remove it. Copied
 * on the main thread, each file's dozen system calls were each handed to libuv's thread pool and back: a thousand
 * small files took ten times what `cp -r` takes, most of it threads waiting for each other. A worker makes a whole
 * request's calls itself, one after another (copy-sync.ts, volume-listing.ts), and the agent's loop stays free.
 *
 * Workers start on first use, up to MAX_FILE_WORKERS so that one job's large copy does not hold up another job's
 * batch; each takes batches in turn. A worker that dies fails its batches and is replaced on the next one. They
 * keep the process alive only while they have work.
 */
import type { Worker } from "node:worker_threads";
import { startWorker } from "../../threads/start.js";
import type { CopyItem, CopyOptions, CopyOutcome } from "./copy-sync.js";
import type { VolumeFile } from "./volume-listing.js";

/** What a worker is asked to do. */
export type FileWork =
  | { readonly op: "copy"; readonly items: readonly CopyItem[]; readonly options: CopyOptions }
  | { readonly op: "list"; readonly dir: string }
  | { readonly op: "remove"; readonly dir: string };

/** What each kind of work answers. */
interface FileWorkResults {
  copy: CopyOutcome[];
  list: VolumeFile[];
  remove: undefined;
}

/** A failure crosses as the errno error's fields, and is thrown again as such on this side. */
interface FileWorkFailure {
  readonly message: string;
  readonly code: string | undefined;
  readonly path: string | undefined;
}

export type FileWorkerReply =
  | { readonly id: number; readonly result: unknown }
  | { readonly id: number; readonly error: FileWorkFailure };

const MAX_FILE_WORKERS = 4;

interface Pending {
  resolve(result: unknown): void;
  reject(error: Error): void;
}

/** One worker thread and the batches it has not answered yet. */
class FileWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  alive = true;

  constructor() {
    this.worker = startWorker(import.meta.url, "file-worker");
    this.worker.unref();
    this.worker.on("message", (reply: FileWorkerReply) => {
      const pending = this.pending.get(reply.id);
      this.settled(reply.id);
      if ("error" in reply) pending?.reject(errnoError(reply.error));
      else pending?.resolve(reply.result);
    });
    this.worker.on("error", (error) => this.fail(error));
    this.worker.on("exit", (code) => this.fail(new Error(`file worker exited with code ${code}`)));
  }

  get queued(): number {
    return this.pending.size;
  }

  run(work: FileWork): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, work });
    });
  }

  private settled(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
  }

  private fail(error: Error): void {
    this.alive = false;
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }
}

const workers: FileWorker[] = [];

/** An idle worker, a new one while there are fewer than the most, else the one with the fewest batches queued. */
function pickWorker(): FileWorker {
  for (let i = workers.length - 1; i >= 0; i--) if (!workers[i]!.alive) workers.splice(i, 1);
  const idle = workers.find((worker) => worker.queued === 0);
  if (idle) return idle;
  if (workers.length < MAX_FILE_WORKERS) {
    const worker = new FileWorker();
    workers.push(worker);
    return worker;
  }
  return workers.reduce((least, worker) => (worker.queued < least.queued ? worker : least));
}

/** Does the work on a worker thread; a failure is thrown as the errno error it was (code, path). */
export async function onFileWorker<W extends FileWork>(work: W): Promise<FileWorkResults[W["op"]]> {
  const result = await pickWorker().run(work);
  // A Buffer crosses as a plain Uint8Array.
  if (work.op === "list") for (const entry of result as VolumeFile[]) rewrapRawPath(entry);
  return result as FileWorkResults[W["op"]];
}

function rewrapRawPath(entry: { rawPath?: Uint8Array }): void {
  const raw = entry.rawPath;
  if (raw && !Buffer.isBuffer(raw)) entry.rawPath = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
}

/** A failure's fields as an Error, for isErrno and isDiskFull. */
export function errnoError(failure: FileWorkFailure): NodeJS.ErrnoException {
  return Object.assign(new Error(failure.message), { code: failure.code, path: failure.path });
}
