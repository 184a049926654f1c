/**
 * What the Slurm runtime hands to Slurm, as pure functions: the `sbatch` arguments and the batch script that runs
 * one job's container on the node through the node's container engine (`docker`, or `podman`, whose command line
 * is Docker's), with the Docker runtime's hardening (the flags of the reference's `docker run` line,
 * reference/agent.md §3.4, as docker-api.ts's createOptions sends them).
 *
 * The script records everything the agent reads into the job's directory on shared storage, so nothing needs the
 * node's engine afterwards: `logs.txt` (timestamped, stdout and stderr merged), `inspect.json` (the container's
 * inspect document and its image's; written last, it marks the job as ended and recorded), `usage` (a sample every 2 s while it runs) and `failed` (why the container could not be run). Environment values travel in `env` (mode
 * 0600), read by the engine's `run` and deleted at once; never on a command line. Few engine commands, since each
 * costs a job a tenth of a second or more on a busy node.
 */
import type { ContainerEngine } from "../../config/agent.js";
import { BLACKHOLE_DNS } from "./docker-api.js";
import { parseMemoryLimit } from "./memory.js";
import { type ContainerSpec, LOG_TAIL_LINES, RuntimeError } from "./types.js";

/** Files of a job's directory the script writes and the runtime reads. */
export const JOB_FILES = {
  script: "job.sh",
  env: "env",
  slurmOutput: "slurm.out",
  jobId: "slurm-job-id",
  logs: "logs.txt",
  live: "live.txt",
  stdout: "stdout.txt",
  stderr: "stderr.txt",
  inspect: "inspect.json",
  usage: "usage",
  failed: "failed",
} as const;

/** Where the engines differ for the script. */
interface EngineTraits {
  /** How messages name it. */
  title: string;
  /** The container log's driver and cap. */
  logArgs: readonly string[];
  /** Whether its `logs --tail` keeps a long line whole. */
  tailsLongLines: boolean;
}

const ENGINE_TRAITS: Record<ContainerEngine, EngineTraits> = {
  docker: {
    title: "Docker",
    logArgs: [
      "--log-driver=local",
      "--log-opt=max-file=200",
      "--log-opt=max-size=20m",
      "--log-opt=compress=true",
    ],
    tailsLongLines: true,
  },
  // Podman has no `local` driver: its k8s-file log, truncated when it reaches the same 4 GB Docker's files hold in
  // all (the end of the output, which is what the agent keeps, survives). Podman 4.3's `logs --tail` counts each
  // piece of a long line as a line and joins the pieces wrongly (an 8 MiB line came out as its last piece).
  podman: {
    title: "Podman",
    logArgs: ["--log-driver=k8s-file", "--log-opt=max-size=4g"],
    tailsLongLines: false,
  },
};

export interface SubmitSettings {
  /** SLURM_PARTITION; null for the cluster's default. */
  partition: string | null;
  /** SLURM_ACCOUNT; null for the user's default. */
  account: string | null;
  /** SLURM_TIME_LIMIT in sbatch's syntax (`24:00:00`, `2-00:00:00`); null for the partition's. */
  timeLimit: string | null;
  /** SLURM_EXTRA_ARGS: more sbatch options, as given. */
  extraArgs: readonly string[];
}

export interface ScriptSpec extends Omit<ContainerSpec, "volumeDir"> {
  /** Absent for a one-off command (no volume, no working directory). */
  volumeDir?: string;
  /** The job's directory on shared storage. */
  dir: string;
  /** DOCKER_PIDS_LIMIT; null for none. */
  pidsLimit: number | null;
  /** SLURM_CONTAINER_ENGINE. */
  engine: ContainerEngine;
  /** A one-off command: its stdout and stderr are kept apart, without timestamps. */
  oneOff: boolean;
  /** The most of a job's output written to its live log (the runtime's JOB_LOG_MAX_BYTES). */
  liveLogMaxBytes: number;
}

const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const MIB = 1024 ** 2;

/** `sbatch` arguments for the job (the script path last). */
export function sbatchArgs(spec: ScriptSpec, settings: SubmitSettings, scriptPath: string): string[] {
  const args = [
    "--parsable",
    `--job-name=${spec.name}`,
    `--output=${spec.dir}/${JOB_FILES.slurmOutput}`,
    `--chdir=${spec.dir}`,
    // The batch script gets sbatch's environment, which runSlurm builds from scratch (PATH, LC_ALL, SLURM_CONF):
    // nothing of the agent's leaks into the job. NIL and NONE would have the node build one instead, which took
    // 0.4–1.4 s longer per job here (NONE also loads the user's login environment).
    "--export=ALL",
    // A job run again from the same volume could see its own half-written outputs: the agent decides, not Slurm.
    "--no-requeue",
    "--nodes=1",
    "--ntasks=1",
  ];
  if (spec.cpuCount !== null) args.push(`--cpus-per-task=${Math.max(1, Math.ceil(spec.cpuCount))}`);
  if (spec.memoryLimit !== null) {
    args.push(`--mem=${Math.max(1, Math.ceil(parseMemoryLimit(spec.memoryLimit) / MIB))}M`);
  }
  if (settings.timeLimit !== null) args.push(`--time=${settings.timeLimit}`);
  if (settings.partition !== null) args.push(`--partition=${settings.partition}`);
  if (settings.account !== null) args.push(`--account=${settings.account}`);
  args.push(...settings.extraArgs, scriptPath);
  return args;
}

/** The engine's `run --detach` arguments after `--detach`, the image and the job's arguments last. */
export function createArgs(spec: ScriptSpec, envFile: string): string[] {
  const args = [
    `--name=${spec.name}`,
    "--init",
    ...ENGINE_TRAITS[spec.engine].logArgs,
    "--cap-drop=ALL",
    "--security-opt=no-new-privileges",
    `--env-file=${envFile}`,
  ];
  if (spec.pidsLimit !== null) args.push(`--pids-limit=${spec.pidsLimit}`);
  if (spec.cpuCount !== null) args.push(`--cpus=${spec.cpuCount}`);
  if (spec.memoryLimit !== null) args.push(`--memory=${parseMemoryLimit(spec.memoryLimit)}`);
  if (spec.volumeDir !== undefined) {
    args.push(
      `--mount=type=bind,source=${mountPath(spec.volumeDir)},target=/workspace`,
      "--workdir=/workspace",
    );
  }
  const network = spec.network;
  if (network.kind === "none") args.push("--network=none");
  if (network.kind === "database") {
    args.push(`--network=${network.network}`, `--dns=${BLACKHOLE_DNS}`);
    for (const { host, ip } of network.extraHosts) args.push(`--add-host=${host}:${ip}`);
  }
  if (spec.user !== null) args.push(`--user=${spec.user}`);
  for (const [key, value] of Object.entries(spec.labels)) args.push(`--label=${key}=${value}`);
  args.push("--", spec.image, ...spec.args);
  return args;
}

/** The env file `run --env-file` reads: `KEY=value` lines, so a value may not hold a line break. */
export function envFile(env: Readonly<Record<string, string>>): string {
  const lines = Object.entries({ HOME: "/tmp", ...env }).map(([key, value]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key))
      throw new RuntimeError(`invalid environment variable name ${key}`);
    if (/[\r\n\0]/.test(value)) {
      throw new RuntimeError(
        `the value of ${key} holds a line break, which the Slurm runtime cannot pass on`,
      );
    }
    return `${key}=${value}`;
  });
  return `${lines.join("\n")}\n`;
}

/** The batch script for the job. */
export function batchScript(spec: ScriptSpec): string {
  const file = (name: string) => `"$dir"/${name}`;
  const engine = spec.engine;
  const logs = spec.oneOff
    ? `${engine} logs "$name" >${file(JOB_FILES.stdout)} 2>${file(JOB_FILES.stderr)}`
    : ENGINE_TRAITS[engine].tailsLongLines
      ? `${engine} logs --timestamps --tail ${LOG_TAIL_LINES} "$name" >${file(JOB_FILES.logs)} 2>&1`
      : `${engine} logs --timestamps "$name" 2>&1 | tail -n ${LOG_TAIL_LINES} >${file(JOB_FILES.logs)}`;
  // The output as it is written, for the agent's `follow`: from the first line, at most liveLogMaxBytes of it (the
  // container's own log on the node keeps all of it until the end, when logs.txt is written from it). `head` would
  // hold what it copies in its output buffer until it exits: unbuffered, each chunk reaches the file as it comes.
  const live = spec.oneOff
    ? ""
    : `${engine} logs --follow --timestamps "$name" 2>&1 | stdbuf -o0 head -c ${spec.liveLogMaxBytes} >${file(JOB_FILES.live)} &
follower=$!`;
  return `#!/bin/bash
# rap-runner: ${spec.name} (src/agent/runtime/slurm-script.ts). Runs the job's container on this node and records
# how it ended in its directory, which the agent reads.
set -u
umask 077
export PATH=${PATH}
dir=${shellQuote(spec.dir)}
name=${shellQuote(spec.name)}
image=${shellQuote(spec.image)}
# scancel and the time limit send SIGTERM: a running container is killed (exit 137) and its end still recorded;
# one starting meanwhile is killed as soon as it has started.
stopped=0
trap 'stopped=1; ${engine} kill "$name" >/dev/null 2>&1' TERM INT
fail() {
  # A container half made (its engine client stopped by a cancel mid-run) is not left on the node.
  ${engine} rm --force "$name" >/dev/null 2>&1
  printf '%s\\n' "$1" >${file("failed.tmp")}
  mv -f ${file("failed.tmp")} ${file(JOB_FILES.failed)}
  rm -f ${file(JOB_FILES.env)}
  exit 125
}
run=(${createArgs(spec, `${spec.dir}/${JOB_FILES.env}`).map(shellQuote).join(" ")})
start() { ${engine} run --detach "\${run[@]}" >/dev/null 2>${file("run-error")}; }
if ! start; then
  # A container of this name left by an earlier attempt on this node: the name is this job's alone.
  grep -q "is already in use" ${file("run-error")} && ${engine} rm --force "$name" >/dev/null 2>&1 && start ||
    fail "${ENGINE_TRAITS[engine].title} image $image could not be run on node $(hostname -s): $(tail -c 500 ${file("run-error")})"
fi
rm -f ${file(JOB_FILES.env)}
[ "$stopped" = 1 ] && ${engine} kill "$name" >/dev/null 2>&1
${live}
# Usage, sampled from a second in and every 2 s after (each sample costs the engine a moment of CPU).
(
  sleep 1
  while ${engine} stats --no-stream --format '{{.CPUPerc}} {{.MemUsage}}' "$name" >${file("usage.tmp")} 2>/dev/null; do
    mv -f ${file("usage.tmp")} ${file(JOB_FILES.usage)}
    sleep 2
  done
) &
sampler=$!
${engine} wait "$name" >${file("exit-code")} 2>/dev/null &
waiter=$!
# A trapped signal ends the first wait early; the second lasts until the killed container has ended. A cancel may
# have stopped that engine client too: then it is asked again.
wait "$waiter"
wait "$waiter" 2>/dev/null
code="$(cat ${file("exit-code")} 2>/dev/null)"
[ -n "$code" ] || code="$(${engine} wait "$name" 2>/dev/null)"
kill "$sampler" 2>/dev/null
${spec.oneOff ? "" : `wait "$follower" 2>/dev/null`}
# The logs, and the container's inspect document then its image's (for the image's labels), read at once.
${logs} &
reader=$!
${engine} inspect "$name" "$image" >${file("inspect.tmp")} 2>/dev/null
wait "$reader"
# Recorded before the container is removed: the agent finalizes the job meanwhile.
mv -f ${file("inspect.tmp")} ${file(JOB_FILES.inspect)}
${engine} rm --force "$name" >/dev/null 2>&1
exit "\${code:-1}"
`;
}

/** A word for bash, single-quoted. */
export function shellQuote(text: string): string {
  if (text.includes("\0")) throw new RuntimeError("a NUL byte cannot be passed to a batch script");
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** `--mount` splits its value on commas and reads quotes: a path holding either is refused rather than misread. */
function mountPath(path: string): string {
  if (/[,"]/.test(path)) throw new RuntimeError(`the volume path ${path} holds a comma or a quote`);
  return path;
}
