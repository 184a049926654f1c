/**
 * An in-memory container runtime for the executor and loop tests (no Docker needed). It keeps the Runtime contract
 * (src/agent/runtime/types.ts): containers are named, outlive any executor object (as Docker's outlive the agent),
 * `start` is idempotent, `kill`/`remove`/`inspect` of a missing container are no-ops/null. A "container" runs a JS
 * program that may write files into the volume and returns an exit code; a test decides when it ends.
 */
import { parseMemoryLimit } from "../../src/agent/runtime/memory.js";
import {
  type ContainerSpec,
  type ContainerState,
  type ContainerStats,
  ImageUnavailableError,
  type OneOffResult,
  type Runtime,
} from "../../src/agent/runtime/types.js";

export interface FakeProgramContext {
  readonly spec: ContainerSpec;
  /** Appends a line to the container's log. */
  log(line: string): void;
}

/**
 * What a container does: resolves to its exit code; null stands for an ending whose code is unknown (a local process
 * whose watcher died).
 */
export type FakeProgram = (context: FakeProgramContext) => Promise<number | null> | number | null;

interface FakeContainer {
  spec: ContainerSpec;
  running: boolean;
  exitCode: number | null;
  oomKilled: boolean;
  startedAtNs: number;
  finishedAtNs: number | null;
  lines: string[];
  finished: Promise<void>;
}

export class FakeRuntime implements Runtime {
  readonly kind = "docker" as const;
  /** Every spec `start` was called with, including repeated calls. */
  readonly started: ContainerSpec[] = [];
  readonly killed: string[] = [];
  readonly oneOffs: Array<Omit<ContainerSpec, "volumeDir" | "name"> & { timeoutMs: number }> = [];
  /** Images that cannot be had. */
  readonly unavailable = new Set<string>();
  labels: Record<string, string> = {
    "org.opencontainers.image.version": "v1.2.3",
    "org.opencontainers.image.revision": "abc123",
    "org.opencontainers.image.created": "2025-01-01T00:00:00Z",
  };
  /** Chooses the program for a container; the default exits 0 at once. */
  program: (spec: ContainerSpec) => FakeProgram = () => () => 0;
  /** Answers runToCompletion. */
  oneOff: (spec: Omit<ContainerSpec, "volumeDir" | "name">) => OneOffResult = () => ({
    exitCode: 0,
    stdout: "",
    stderr: "",
  });
  /** Awaited at the start of every ensureImage (to hold a prepare up). */
  beforeEnsureImage: (image: string) => Promise<void> = async () => {};
  /** Makes the next inspect of any container throw this (then clears it). */
  failNextInspect: Error | null = null;
  private readonly containers = new Map<string, FakeContainer>();
  /** What `wasStarted` answers: survives `vanish`, as the real runtimes' records on disk do. */
  private readonly startedNames = new Set<string>();
  private clock = 1_750_000_000_000_000_000;

  async ensureImage(image: string, sha: string | null): Promise<string> {
    await this.beforeEnsureImage(image);
    if (this.unavailable.has(image))
      throw new ImageUnavailableError(`Docker image ${image} is not available`);
    return sha ? `${image}@${sha}` : image;
  }

  async imageLabels(): Promise<Record<string, string>> {
    return { ...this.labels };
  }

  async start(spec: ContainerSpec): Promise<void> {
    this.started.push(spec);
    this.startedNames.add(spec.name);
    if (this.containers.has(spec.name)) return;
    const container: FakeContainer = {
      spec,
      running: true,
      exitCode: null,
      oomKilled: false,
      startedAtNs: this.tick(),
      finishedAtNs: null,
      lines: [],
      finished: Promise.resolve(),
    };
    this.containers.set(spec.name, container);
    const program = this.program(spec);
    container.finished = (async () => {
      let code: number | null;
      try {
        code = await program({ spec, log: (line) => container.lines.push(line) });
      } catch (error) {
        container.lines.push(String(error));
        code = 1;
      }
      if (!container.running) return; // killed meanwhile
      this.exit(container, code);
    })();
  }

  async inspect(name: string): Promise<ContainerState | null> {
    if (this.failNextInspect) {
      const error = this.failNextInspect;
      this.failNextInspect = null;
      throw error;
    }
    const c = this.containers.get(name);
    if (!c) return null;
    return {
      running: c.running,
      exitCode: c.exitCode,
      oomKilled: c.oomKilled,
      startedAtNs: c.startedAtNs,
      finishedAtNs: c.finishedAtNs,
      imageId: "sha256:localimageid",
      // As Docker reports it: the limit the job was started with, in bytes.
      memoryLimitBytes: c.spec.memoryLimit === null ? 0 : parseMemoryLimit(c.spec.memoryLimit),
      metadata: {
        Name: `/${name}`,
        Image: "sha256:localimageid",
        Config: { Env: Object.entries(c.spec.env).map(([k, v]) => `${k}=${v}`), Image: c.spec.image },
        State: { Running: c.running, ExitCode: c.exitCode ?? 0, OOMKilled: c.oomKilled },
      },
    };
  }

  async logs(name: string): Promise<string> {
    const c = this.containers.get(name);
    return c ? c.lines.map((line) => `2025-06-01T12:00:00.000000000Z ${line}\n`).join("") : "";
  }

  async *follow(name: string): AsyncIterable<Buffer> {
    const c = this.containers.get(name);
    if (!c) return;
    await c.finished;
    yield Buffer.from(await this.logs(name));
  }

  async kill(name: string): Promise<void> {
    const c = this.containers.get(name);
    if (!c?.running) return;
    this.killed.push(name);
    this.exit(c, 137);
  }

  async remove(name: string): Promise<void> {
    this.startedNames.delete(name);
    await this.kill(name);
    this.containers.delete(name);
  }

  async wasStarted(name: string): Promise<boolean> {
    return this.startedNames.has(name);
  }

  async stats(): Promise<ContainerStats[]> {
    return [...this.containers.values()]
      .filter((c) => c.running)
      .map((c) => ({
        jobId: c.spec.name.replace(/^os-job-/, ""),
        containerId: `id-${c.spec.name}`,
        cpuPercent: 50,
        memoryBytes: 100 * 1024 * 1024,
        createdAt: 1,
      }));
  }

  async runToCompletion(
    spec: Omit<ContainerSpec, "volumeDir" | "name"> & { timeoutMs: number },
  ): Promise<OneOffResult> {
    this.oneOffs.push(spec);
    return this.oneOff(spec);
  }

  /** Test helpers. */
  has(name: string): boolean {
    return this.containers.has(name);
  }

  /** Waits until the container's program has returned (or it was killed). */
  async finished(name: string): Promise<void> {
    await this.containers.get(name)?.finished;
  }

  /** Removes a container behind the runtime's back (`docker rm -f` by someone else): `wasStarted` still holds. */
  vanish(name: string): void {
    const c = this.containers.get(name);
    if (c) c.running = false;
    this.containers.delete(name);
  }

  /** Ends a container as the kernel's OOM killer would. */
  oomKill(name: string): void {
    const c = this.containers.get(name);
    if (!c?.running) return;
    c.oomKilled = true;
    this.exit(c, 137);
  }

  private exit(c: FakeContainer, code: number | null): void {
    c.running = false;
    c.exitCode = code;
    c.finishedAtNs = this.tick();
  }

  private tick(): number {
    this.clock += 1_000_000_000;
    return this.clock;
  }
}

/** A promise a test resolves by hand (to end a "running" job when it chooses). */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
