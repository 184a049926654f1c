/**
 * Reading files at commits through one long-lived `git cat-file --batch` per cache repository, where each read was a
 * git process of its own (5–8 ms of a create at a new commit, most of what a create adds to the fetch). Reads to one
 * repository queue on its process and are answered in order. A process ends after a minute without reads, on its
 * first failure or timeout (the next read starts another), and with this one: it never keeps Node running, except
 * while a read waits for it. Objects fetched into the repository after it started are found: git looks for new
 * packs before answering that an object is missing.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { noteGitProcess } from "./run.js";

export type BlobAnswer =
  | { readonly kind: "blob"; readonly bytes: Buffer }
  /** No such object: here, no such path at the commit. */
  | { readonly kind: "missing" }
  /** The name is a tree (a directory) or another kind of object. */
  | { readonly kind: "not-a-blob"; readonly type: string }
  | { readonly kind: "failed"; readonly failure: string };

export interface BlobReadOptions {
  /** GIT_DIR of the repository. */
  readonly gitDir: string;
  readonly cwd: string;
  readonly env: Record<string, string>;
  readonly timeoutMs: number;
}

const IDLE_MS = 60_000;
const MAX_STDERR = 2000;

const processes = new Map<string, BatchProcess>();

/**
 * The object `name` (`<commit>:<path>`) of the repository, read through its batch process. A read the process died
 * under (killed, or failing) is tried once more on a new one.
 */
export async function readBlob(name: string, options: BlobReadOptions): Promise<BlobAnswer> {
  if (name.includes("\n")) return { kind: "failed", failure: "a name with a line break" };
  const first = await processFor(options).read(name, options.timeoutMs);
  if (first.kind !== "failed" || !first.processDied) return first;
  return processFor(options).read(name, options.timeoutMs);
}

/**
 * Ends the readers of the repositories under `reposDir` once they have answered what they were asked, and waits for
 * their processes to exit: a closing service leaves nothing running in its directories. A later read starts anew.
 */
export async function closeBlobReaders(reposDir: string): Promise<void> {
  const under = `${reposDir.replace(/\/+$/, "")}/`;
  const closing = [...processes].filter(([gitDir]) => gitDir.startsWith(under)).map(([, reader]) => reader);
  await Promise.all(closing.map((reader) => reader.close()));
}

function processFor(options: BlobReadOptions): BatchProcess {
  const running = processes.get(options.gitDir);
  if (running && !running.ended) return running;
  const started = new BatchProcess(options, () => {
    if (processes.get(options.gitDir) === started) processes.delete(options.gitDir);
  });
  processes.set(options.gitDir, started);
  return started;
}

/** A failed answer says whether the process died under the read (worth another try) or timed out. */
type Answer =
  | Exclude<BlobAnswer, { kind: "failed" }>
  | { readonly kind: "failed"; readonly failure: string; readonly processDied: boolean };

interface PendingRead {
  readonly timeoutMs: number;
  readonly resolve: (answer: Answer) => void;
}

/** `<oid> <type> <size>`: the object's content follows, then a line break. */
interface Header {
  readonly type: string;
  readonly size: number;
}

class BatchProcess {
  ended = false;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pending: PendingRead[] = [];
  private chunks: Buffer[] = [];
  private buffered = 0;
  private header: Header | null = null;
  private stderr = "";
  private timer: NodeJS.Timeout | null = null;
  private readonly exited: Promise<void>;

  constructor(
    options: BlobReadOptions,
    private readonly onEnd: () => void,
  ) {
    noteGitProcess(["cat-file", "--batch"]);
    this.child = spawn("git", ["cat-file", "--batch"], {
      cwd: options.cwd,
      env: { ...options.env, GIT_DIR: options.gitDir },
      windowsHide: true,
    });
    this.child.stdout.on("data", (chunk: Buffer) => this.received(chunk));
    this.child.stderr.on("data", (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString("utf8")).slice(-MAX_STDERR);
    });
    this.child.stdin.on("error", () => undefined); // a process that died is reported by "close"
    this.exited = new Promise((resolve) => {
      this.child.on("error", (error) => {
        this.end(`git cat-file --batch failed: ${error.message}`, true);
        resolve();
      });
      this.child.on("close", (code, signal) => {
        this.end(`git cat-file --batch exited with ${code ?? signal}: ${this.stderr.trim()}`, true);
        resolve();
      });
    });
    // Idle, it holds nothing Node must wait for; `read` holds the output while an answer is due.
    this.child.unref();
    for (const stream of [this.child.stdin, this.child.stdout, this.child.stderr]) unrefStream(stream);
  }

  read(name: string, timeoutMs: number): Promise<Answer> {
    return new Promise((resolve) => {
      this.pending.push({ timeoutMs, resolve });
      if (this.pending.length === 1) {
        refStream(this.child.stdout);
        this.armTimeout();
      }
      this.child.stdin.write(`${name}\n`);
    });
  }

  private received(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.pending.length > 0 && this.answerOne()) {
      // one answer delivered per turn
    }
  }

  /** Delivers the first pending read's answer if it has all arrived. */
  private answerOne(): boolean {
    if (!this.header) {
      const all = this.joined();
      const end = all.indexOf(10);
      if (end === -1) return false;
      const line = all.subarray(0, end).toString("utf8");
      this.keep(all.subarray(end + 1));
      const fields = line.split(" ");
      if (fields.at(-1) === "missing") return this.deliver({ kind: "missing" });
      const size = Number(fields[2]);
      if (fields.length !== 3 || !Number.isSafeInteger(size)) {
        this.stop(`git cat-file --batch answered ${JSON.stringify(line.slice(0, 200))}`, false);
        return false;
      }
      this.header = { type: fields[1]!, size };
    }
    const { type, size } = this.header;
    if (this.buffered < size + 1) return false;
    const all = this.joined();
    this.keep(all.subarray(size + 1));
    this.header = null;
    return this.deliver(
      type === "blob"
        ? { kind: "blob", bytes: Buffer.from(all.subarray(0, size)) }
        : { kind: "not-a-blob", type },
    );
  }

  private deliver(answer: Answer): true {
    this.pending.shift()?.resolve(answer);
    if (this.pending.length > 0) {
      this.armTimeout();
    } else {
      unrefStream(this.child.stdout);
      this.arm(IDLE_MS, () => this.retire());
    }
    return true;
  }

  /** The first pending read's answer is due within its timeout. */
  private armTimeout(): void {
    const { timeoutMs } = this.pending[0]!;
    this.arm(timeoutMs, () => this.stop(`git cat-file --batch timed out after ${timeoutMs} ms`, false));
  }

  private joined(): Buffer {
    if (this.chunks.length !== 1) this.chunks = [Buffer.concat(this.chunks, this.buffered)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  private keep(rest: Buffer): void {
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
  }

  private arm(ms: number, action: () => void): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(action, ms);
    this.timer.unref();
  }

  /** Takes no more reads, answers those asked (git reads to the end of its input), and exits. */
  close(): Promise<void> {
    // Held until it has exited: a caller awaiting this with nothing else running must not see Node end first.
    this.child.ref();
    for (const stream of [this.child.stdin, this.child.stdout, this.child.stderr]) refStream(stream);
    this.retire();
    return this.exited;
  }

  /** Idle: no new reads come here (the next starts a new process), and this one ends. */
  private retire(): void {
    this.markEnded();
    this.child.stdin.end();
  }

  private stop(failure: string, processDied: boolean): void {
    this.end(failure, processDied);
    this.child.kill("SIGTERM");
  }

  /** No more reads: the pending ones fail with `failure`. */
  private end(failure: string, processDied: boolean): void {
    if (this.timer) clearTimeout(this.timer);
    this.markEnded();
    for (const read of this.pending.splice(0)) read.resolve({ kind: "failed", failure, processDied });
    unrefStream(this.child.stdout);
  }

  private markEnded(): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd();
  }
}

/** Pipes are sockets: unref'd, they no longer keep the event loop alive. */
function unrefStream(stream: NodeJS.ReadableStream | NodeJS.WritableStream): void {
  (stream as { unref?: () => void }).unref?.();
}

function refStream(stream: NodeJS.ReadableStream | NodeJS.WritableStream): void {
  (stream as { ref?: () => void }).ref?.();
}
