/**
 * Parsing project.yaml without holding up the server. Parsing costs time in proportion to the file's structure
 * (the largest real project, 1.3 MB, takes 40–300 ms; a 2.6 MB file of 20,000 actions 0.3–0.6 s), and the server has
 * one thread for every request: a large file is therefore parsed on a worker thread of its own, with a bounded heap,
 * ended when done. Files are parsed once per commit (ProjectCache), so the thread's start-up is rarely paid.
 */
import { type ProjectErrorKind, ProjectValidationError, parseProject } from "../pipeline/index.js";
import { startWorker } from "../threads/start.js";
import { type PlannableProject, plannable } from "./plannable.js";

/** Smaller files are parsed on the calling thread: a few milliseconds, less than starting a thread. */
export const WORKER_FROM_BYTES = 128 * 1024;
/** The parsing thread's heap: a hostile file exhausts it, not the server's. */
const WORKER_HEAP_MB = 1024;

export type ParseReply =
  | { project: PlannableProject }
  | {
      invalid: { message: string; kind: ProjectErrorKind; detail: string | null; warnings: string[] };
    }
  | { failed: string };

/** The file's plannable project; throws ProjectValidationError as parseProject does. */
export async function parseProjectFile(bytes: Uint8Array): Promise<PlannableProject> {
  if (bytes.byteLength < WORKER_FROM_BYTES) return plannable(parseProject(bytes));
  const reply = await inWorker(bytes);
  if ("project" in reply) return reply.project;
  if ("invalid" in reply) {
    const { message, ...options } = reply.invalid;
    throw new ProjectValidationError(message, options);
  }
  throw new Error(`project.yaml parsing thread failed: ${reply.failed}`);
}

function inWorker(bytes: Uint8Array): Promise<ParseReply> {
  return new Promise((resolve, reject) => {
    const worker = startWorker(import.meta.url, "project-worker", {
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
    });
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      outcome();
      void worker.terminate();
    };
    worker.once("message", (reply: ParseReply) => settle(() => resolve(reply)));
    worker.once("error", (error) => settle(() => reject(error)));
    worker.once("exit", (code) =>
      settle(() => reject(new Error(`project.yaml parsing thread exited with code ${code}`))),
    );
    worker.postMessage(bytes);
  });
}
