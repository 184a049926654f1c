/**
 * The local runtime (`EXECUTOR=local`): each job is a host process, for development and for machines without
 * Docker. **No isolation at all**: the job runs as the agent's user, can read and write anything that user can,
 * and has the host's network. Memory and CPU limits cannot be enforced (they are accepted and ignored, and
 * `memoryLimitBytes` reads 0), the user and network settings are ignored, and image digests are not checked.
 *
 * An image maps to a host command by its short name (`ghcr.io/opensafely-core/python:v2` → `python` →
 * `python3`); the job's arguments follow the command, as they follow the image's entrypoint in Docker. The job
 * runs in its volume directory, with only its own environment plus PATH and a private HOME: never the agent's.
 *
 * State survives an agent restart: `{stateDir}/{name}/` holds spec.json (what was started), pid.json (written once
 * the process runs), exit.json (written by the watcher in local-wrapper.ts when it ends) and the log (log.txt, the
 * log.1.txt before it, and log-dropped.json); `{stateDir}/.started/{name}` records that it was started. Environment
 * values are not written there.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DEFAULT_JOB_LOG_MAX_BYTES } from "../../config/agent.js";
import { isErrno, orIfMissing } from "../workspace/files.js";
import { followFile } from "./follow-file.js";
import {
  CLOCK_TICKS_PER_SECOND,
  killGroup,
  PAGE_BYTES,
  processIsAlive,
  readAllProcesses,
  signalNumber,
} from "./host-processes.js";
import { imageShortName } from "./image-ref.js";
import { WRAPPER_SOURCE } from "./local-wrapper.js";
import { type LogLimits, LogTail } from "./log-tail.js";
import { StartRecords } from "./start-records.js";
import { withTimeout } from "./timeout.js";
import {
  type ContainerSpec,
  type ContainerState,
  type ContainerStats,
  ImageUnavailableError,
  JOB_CONTAINER_PREFIX,
  jobLabels,
  LOG_TAIL_LINES,
  type OneOffResult,
  type Runtime,
  RuntimeError,
  RuntimeTimeoutError,
} from "./types.js";

export interface LocalRuntimeOptions {
  /** Where per-container state lives; must outlive the agent process. */
  stateDir: string;
  /** Image short name → host command, over the defaults (`python` → `python3`, `r` → `Rscript`). */
  commands?: Readonly<Record<string, string>>;
  /** PATH for job processes. Default: Docker's default PATH. */
  path?: string;
  /** How long to wait for a job process to start, and for a killed one to go. Default 30 s. */
  callTimeoutMs?: number;
  /** JOB_LOG_MAX_BYTES: the most of a job's output `logs` keeps (and its log files hold, twice that on disk). */
  logMaxBytes?: number;
}

export const DEFAULT_LOCAL_COMMANDS: Readonly<Record<string, string>> = { python: "python3", r: "Rscript" };
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const POLL_MS = 20;
interface SpecFile {
  name: string;
  image: string;
  command: string;
  args: string[];
  cwd: string;
  labels: Record<string, string>;
  envNames: string[];
  createdAtNs: string;
  /** Where the watcher starts a new log file (absent in files written before it was recorded). */
  logMaxBytes?: number;
}

interface PidFile {
  pid: number;
  wrapperPid: number;
  startedAtNs: string;
  /** Field 22 of /proc/{pid}/stat when the process started, to tell it from a later process with the same pid. */
  processStart: string | null;
  /** The same for the watcher (absent in files written before it was recorded). */
  wrapperStart?: string | null;
}

interface ExitFile {
  exitCode: number;
  finishedAtNs: string;
}

export class LocalRuntime implements Runtime {
  readonly kind = "local" as const;
  private readonly stateDir: string;
  private readonly commands: Readonly<Record<string, string>>;
  private readonly path: string;
  private readonly callTimeoutMs: number;
  private readonly logLimits: LogLimits;
  private readonly startRecords: StartRecords;
  /** The previous CPU reading per job process, so `stats` reports a rate since the last call. */
  private readonly lastCpu = new Map<number, { ticks: number; atMs: number }>();

  constructor(options: LocalRuntimeOptions) {
    this.stateDir = options.stateDir;
    this.commands = { ...DEFAULT_LOCAL_COMMANDS, ...options.commands };
    this.path = options.path ?? DEFAULT_PATH;
    this.callTimeoutMs = options.callTimeoutMs ?? 30_000;
    this.logLimits = { maxBytes: options.logMaxBytes ?? DEFAULT_JOB_LOG_MAX_BYTES, maxLines: LOG_TAIL_LINES };
    this.startRecords = new StartRecords(join(this.stateDir, ".started"));
  }

  async ensureImage(image: string, _sha: string | null): Promise<string> {
    this.commandFor(image);
    return image;
  }

  async imageLabels(_reference: string): Promise<Record<string, string>> {
    return {};
  }

  async start(spec: ContainerSpec): Promise<void> {
    const command = this.commandFor(spec.image);
    const dir = this.containerDir(spec.name);
    const existing = await this.readState(spec.name);
    if (existing && (existing.pid || existing.exit)) return this.startRecords.record(spec.name);
    // An interrupted start (the agent died before the process ran) is started again from scratch.
    if (existing) await rm(dir, { recursive: true, force: true });

    const staging = join(this.stateDir, `.${spec.name}.${randomBytes(4).toString("hex")}`);
    await mkdir(join(staging, "home"), { recursive: true });
    const file: SpecFile = {
      name: spec.name,
      image: spec.image,
      command,
      args: [...spec.args],
      cwd: spec.volumeDir,
      labels: jobLabels(spec.labels),
      envNames: Object.keys(spec.env),
      createdAtNs: String(BigInt(Date.now()) * 1_000_000n),
      logMaxBytes: this.logLimits.maxBytes,
    };
    await writeFile(join(staging, "spec.json"), JSON.stringify(file));
    try {
      await rename(staging, dir);
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      // Another start of the same name got there first: the contract makes this a no-op.
      if (isErrno(error, "EEXIST") || isErrno(error, "ENOTEMPTY")) return this.startRecords.record(spec.name);
      throw error;
    }

    const watcher = spawn(process.execPath, ["-e", WRAPPER_SOURCE, dir], {
      detached: true,
      stdio: ["ignore", "pipe", "ignore"],
      env: this.jobEnv(spec.env, join(dir, "home")),
    });
    // Without a listener, a watcher that cannot be spawned would be an uncaught 'error'; its silence says enough.
    watcher.on("error", () => {});
    let answer: string;
    try {
      answer = await withTimeout("local runtime", `starting ${spec.name}`, this.callTimeoutMs, () =>
        firstLine(watcher.stdout),
      );
    } finally {
      watcher.stdout.destroy();
      watcher.unref();
    }
    // "ended": the command could not be started, which exit.json records like any other ending.
    if (answer !== "started" && answer !== "ended") {
      throw new RuntimeError(`the local runtime could not start ${spec.name}: its watcher process failed`);
    }
    await this.startRecords.record(spec.name);
  }

  wasStarted(name: string): Promise<boolean> {
    return this.startRecords.has(name);
  }

  async inspect(name: string): Promise<ContainerState | null> {
    const state = await this.readState(name);
    if (!state || (!state.pid && !state.exit)) return null;
    const { spec, pid, exit } = state;
    // Between the job's process ending and its watcher writing exit.json, the job still counts as running: read
    // as ended then, it would have no exit code.
    const running = !exit && pid !== null && ((await isAlive(pid)) || (await watcherAlive(pid)));
    const startedAtNs = pid ? Number(pid.startedAtNs) : null;
    const finishedAtNs = exit ? Number(exit.finishedAtNs) : null;
    const exitCode = exit?.exitCode ?? null;
    const metadata = {
      Id: name,
      Name: `/${name}`,
      Created: rfc3339(Number(spec.createdAtNs)),
      Path: spec.command,
      Args: spec.args,
      Config: {
        Image: spec.image,
        Cmd: spec.args,
        // Values are not kept on disk; the names show what the job was given.
        Env: spec.envNames.map((key) => `${key}=`),
        Labels: spec.labels,
        WorkingDir: spec.cwd,
      },
      State: {
        Status: running ? "running" : "exited",
        Running: running,
        OOMKilled: false,
        Pid: running ? pid?.pid : 0,
        ExitCode: exitCode,
        StartedAt: startedAtNs === null ? null : rfc3339(startedAtNs),
        FinishedAt: finishedAtNs === null ? null : rfc3339(finishedAtNs),
      },
      HostConfig: {},
      Runtime: "local",
    };
    return {
      running,
      exitCode: running ? null : exitCode,
      oomKilled: false,
      startedAtNs,
      finishedAtNs: running ? null : finishedAtNs,
      imageId: null,
      memoryLimitBytes: 0,
      metadata,
    };
  }

  async logs(name: string): Promise<string> {
    const dir = this.containerDir(name);
    const tail = new LogTail(this.logLimits);
    const dropped = await readFile(join(dir, "log-dropped.json"), "utf8").then(
      (text) => Number((JSON.parse(text) as { bytes?: unknown }).bytes) || 0,
      orIfMissing(0),
    );
    tail.skip(dropped);
    // Streamed in order, never read whole: the files are bounded, but only by the watcher's own arithmetic.
    for (const file of ["log.1.txt", "log.txt"]) {
      try {
        for await (const chunk of createReadStream(join(dir, file))) tail.push(chunk as Buffer);
      } catch (error) {
        if (!isErrno(error, "ENOENT")) throw error;
      }
    }
    return tail.text();
  }

  follow(name: string, signal: AbortSignal): AsyncIterable<Buffer> {
    // Ended once the watcher has recorded the exit, or when there is no such container (or it never ran).
    const ended = async () => {
      const state = await this.readState(name);
      return !state?.pid || state.exit !== null;
    };
    return followFile(join(this.containerDir(name), "log.txt"), ended, signal);
  }

  async kill(name: string): Promise<void> {
    const state = await this.readState(name);
    if (!state?.pid || state.exit || !(await isAlive(state.pid))) return;
    killGroup(state.pid.pid);
  }

  async remove(name: string): Promise<void> {
    const state = await this.readState(name);
    await this.startRecords.forget(name);
    if (!state) return;
    const pid = state.pid;
    if (pid && !state.exit) {
      if (await isAlive(pid)) killGroup(pid.pid);
      // Let the watcher record the end and exit before its directory goes (also when the job was killed just
      // before and its end is not yet written), so it cannot write into the directory being removed or into a
      // new container of the same name.
      if (!(await waitUntil(async () => !(await watcherAlive(pid)), this.callTimeoutMs))) {
        throw new RuntimeTimeoutError(
          `local runtime timed out after ${this.callTimeoutMs / 1000}s removing ${name}`,
        );
      }
    }
    await rm(this.containerDir(name), { recursive: true, force: true });
  }

  async stats(): Promise<ContainerStats[]> {
    const names = (await readdir(this.stateDir).catch(orIfMissing([] as string[]))).filter((n) =>
      n.startsWith(JOB_CONTAINER_PREFIX),
    );
    const running: Array<{ name: string; spec: SpecFile; pid: PidFile }> = [];
    for (const name of names) {
      const state = await this.readState(name);
      if (state?.pid && !state.exit && (await isAlive(state.pid))) {
        running.push({ name, spec: state.spec, pid: state.pid });
      }
    }
    if (running.length === 0) return [];
    const processes = await readAllProcesses();
    const nowMs = Date.now();
    return running.map(({ name, spec, pid }) => {
      const group = processes.filter((p) => p.pgrp === pid.pid);
      const ticks = group.reduce((sum, p) => sum + p.cpuTicks, 0);
      const previous = this.lastCpu.get(pid.pid) ?? { ticks: 0, atMs: Number(pid.startedAtNs) / 1e6 };
      this.lastCpu.set(pid.pid, { ticks, atMs: nowMs });
      const elapsedS = (nowMs - previous.atMs) / 1000;
      const cpuS = (ticks - previous.ticks) / CLOCK_TICKS_PER_SECOND;
      return {
        jobId: name.slice(JOB_CONTAINER_PREFIX.length),
        containerId: name,
        cpuPercent: elapsedS > 0 ? Math.max(0, (cpuS / elapsedS) * 100) : 0,
        memoryBytes: group.reduce((sum, p) => sum + p.rssPages, 0) * PAGE_BYTES,
        createdAt: Math.floor(Number(spec.createdAtNs) / 1e9),
      };
    });
  }

  async runToCompletion(
    spec: Omit<ContainerSpec, "volumeDir" | "name"> & { timeoutMs: number },
  ): Promise<OneOffResult> {
    const command = this.commandFor(spec.image);
    const scratch = join(this.stateDir, `.run-${randomBytes(6).toString("hex")}`);
    await mkdir(scratch, { recursive: true });
    try {
      const child = spawn(command, [...spec.args], {
        cwd: scratch,
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
        env: this.jobEnv(spec.env, scratch),
      });
      const stdout = new LogTail(this.logLimits);
      const stderr = new LogTail(this.logLimits);
      child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
      const ended = new Promise<number>((resolve, reject) => {
        child.on("error", (error) => reject(new RuntimeError(`cannot run ${command}: ${error.message}`)));
        child.on("close", (code, signal) => resolve(code ?? 128 + signalNumber(signal)));
      });
      const exitCode = await withTimeout(
        "local runtime",
        `running ${spec.image}`,
        spec.timeoutMs,
        () => ended,
      ).catch((error) => {
        if (error instanceof RuntimeTimeoutError && child.pid) killGroup(child.pid);
        throw error;
      });
      return { exitCode, stdout: stdout.text(), stderr: stderr.text() };
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  private commandFor(image: string): string {
    const name = imageShortName(image);
    const command = Object.hasOwn(this.commands, name) ? this.commands[name] : undefined;
    if (command === undefined) {
      throw new ImageUnavailableError(
        `Docker image ${image} cannot run with the local executor: no host command is configured for "${name}" ` +
          `(map "${name}" to a command, as "python" maps to "python3")`,
      );
    }
    return command;
  }

  private containerDir(name: string): string {
    // Names become directory names: one safe path segment only.
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) throw new RuntimeError(`invalid container name ${name}`);
    return join(this.stateDir, name);
  }

  /** The job's own variables plus PATH and HOME: nothing inherited from the agent. */
  private jobEnv(env: Readonly<Record<string, string>>, home: string): Record<string, string> {
    return { PATH: this.path, ...env, HOME: home };
  }

  private async readState(
    name: string,
  ): Promise<{ spec: SpecFile; pid: PidFile | null; exit: ExitFile | null } | null> {
    const dir = this.containerDir(name);
    const read = <T>(file: string) =>
      readFile(join(dir, file), "utf8").then((text) => JSON.parse(text) as T, orIfMissing(null));
    const spec = await read<SpecFile>("spec.json");
    if (!spec) return null;
    const [pid, exit] = await Promise.all([read<PidFile>("pid.json"), read<ExitFile>("exit.json")]);
    return { spec, pid, exit };
  }
}

/** The job process is alive and is the one that was started (not a later process given the same pid). */
function isAlive(pid: PidFile): Promise<boolean> {
  return processIsAlive(pid.pid, pid.processStart);
}

function watcherAlive(pid: PidFile): Promise<boolean> {
  return processIsAlive(pid.wrapperPid, pid.wrapperStart ?? null);
}

/** Resolves with the first line a stream writes (or at its end). */
function firstLine(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    stream.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
      if (text.includes("\n")) resolve(text.slice(0, text.indexOf("\n")));
    });
    stream.on("end", () => resolve(text));
    stream.on("error", () => resolve(text));
  });
}

/** Polls until the condition holds (true) or the time is up (false). */
async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return true;
}

function rfc3339(ns: number): string {
  const ms = Math.floor(ns / 1e6);
  const fraction = String(Math.min(999_999, Math.max(0, Math.round(ns - ms * 1e6)))).padStart(6, "0");
  return `${new Date(ms).toISOString().slice(0, 23)}${fraction}Z`;
}
