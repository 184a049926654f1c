/**
 * Worker threads that print the jobs of large `POST rap/status/` answers. job-server asks for every active RAP at
 * once; the query and the JSON for thousands of jobs take tens of milliseconds, which on the main thread would hold
 * up every other request (agents' task polls among them) and use one core of several. Split between workers, each
 * with its own SQLite connection, the printing takes a fraction of that time and the main thread stays free.
 *
 * Workers start on first use and are replaced if one dies; `close` stops them.
 */
import type { Worker } from "node:worker_threads";
import { startWorker } from "../../threads/start.js";
import type { PrintedJobs } from "../status/rendered-jobs.js";

export interface WorkerRequest {
  id: number;
  keys: readonly string[];
}

export type WorkerReply = { id: number; printed: PrintedJobs } | { id: number; error: string };

interface Pending {
  resolve(printed: PrintedJobs): void;
  reject(error: Error): void;
}

/** One worker thread and the requests it has not answered yet. */
class StatusWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  alive = true;

  constructor(databasePath: string) {
    this.worker = startWorker(import.meta.url, "status-worker", { workerData: { path: databasePath } });
    // The server's socket keeps the process alive; an idle worker must not.
    this.worker.unref();
    this.worker.on("message", (reply: WorkerReply) => {
      const pending = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if ("error" in reply) pending?.reject(new Error(`status worker: ${reply.error}`));
      else pending?.resolve(reply.printed);
    });
    this.worker.on("error", (error) => this.fail(error));
    this.worker.on("exit", (code) => this.fail(new Error(`status worker exited with code ${code}`)));
  }

  print(keys: readonly string[]): Promise<PrintedJobs> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, keys } satisfies WorkerRequest);
    });
  }

  private fail(error: Error): void {
    this.alive = false;
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }

  async stop(): Promise<void> {
    this.alive = false;
    await this.worker.terminate();
  }
}

export class StatusWorkers {
  private readonly workers: (StatusWorker | undefined)[];

  constructor(
    private readonly databasePath: string,
    readonly size: number,
  ) {
    this.workers = new Array(size).fill(undefined);
  }

  /** Prints `index`'s share of the jobs on its worker, starting (or restarting) the worker when needed. */
  print(index: number, keys: readonly string[]): Promise<PrintedJobs> {
    const slot = index % this.size;
    let worker = this.workers[slot];
    if (!worker?.alive) {
      worker = new StatusWorker(this.databasePath);
      this.workers[slot] = worker;
    }
    return worker.print(keys);
  }

  async close(): Promise<void> {
    const running = this.workers.filter((worker) => worker !== undefined);
    this.workers.fill(undefined);
    await Promise.all(running.map((worker) => worker.stop()));
  }
}
