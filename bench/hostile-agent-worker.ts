/**
 * One attack of bench/hostile-agent.ts, in a process of its own so that the code under test may die of it: it
 * imports the agent's runtime and executor from the source tree named by its first argument (this tree's `src`, or
 * a checkout of an older commit's), runs the attack named by its second against the real Docker engine, and prints
 * one JSON line of what it saw. Run by the bench with `node --import tsx`, never on its own.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createStudyRepo, createTempDir, removeDir } from "../test/support/git-fixtures.js";
import { jobDefinition } from "../test/support/job-definitions.js";

const [srcDir, attack, size] = process.argv.slice(2) as [string, string, string | undefined];
const load = (path: string) => import(pathToFileURL(join(srcDir, path)).href);
const IMAGE = "ghcr.io/opensafely-core/python:v2";

async function waitForEnd(
  runtime: { inspect(name: string): Promise<{ running: boolean } | null> },
  name: string,
) {
  for (;;) {
    const state = await runtime.inspect(name);
    if (state && !state.running) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function spec(name: string, code: string, volumeDir: string) {
  return {
    name,
    image: IMAGE,
    args: ["-c", code],
    env: {},
    volumeDir,
    cpuCount: null,
    memoryLimit: null,
    network: { kind: "none" },
    user: null,
    labels: {},
  };
}

/** `bytes` of output with no newline, then the time the agent takes to read the container's log. */
async function noNewlineLog(): Promise<Record<string, unknown>> {
  const { DockerRuntime } = await load("agent/runtime/docker.ts");
  const runtime = new DockerRuntime();
  const bytes = Number(size);
  const name = `os-job-hostile${process.pid}`;
  const volume = await createTempDir("rap-hostile-");
  try {
    const mib = Math.ceil(bytes / 2 ** 20);
    await runtime.start(
      spec(name, `import sys\nfor _ in range(${mib}): sys.stdout.write('x' * ${2 ** 20})`, volume),
    );
    await waitForEnd(runtime, name);
    const start = performance.now();
    const text: string = await runtime.logs(name);
    return {
      readMs: Math.round(performance.now() - start),
      logChars: text.length,
      note: text.startsWith("[…") ? text.slice(0, text.indexOf("\n")) : "",
    };
  } finally {
    await runtime.remove(name).catch(() => {});
    await removeDir(volume);
  }
}

/**
 * The local runtime's watcher under the same attack: `size` bytes without a newline. Its peak RSS (polled from
 * /proc), how long the job took to be recorded as ended, the log on disk and what `logs` returns.
 */
async function localNoNewlineLog(): Promise<Record<string, unknown>> {
  const { LocalRuntime } = await load("agent/runtime/local.ts");
  const stateDir = await createTempDir("rap-hostile-local-");
  const volume = await createTempDir("rap-hostile-");
  const runtime = new LocalRuntime({ stateDir });
  const name = `os-job-local${process.pid}`;
  try {
    const mib = Math.ceil(Number(size) / 2 ** 20);
    const start = performance.now();
    await runtime.start(
      spec(name, `import sys\nfor _ in range(${mib}): sys.stdout.write('x' * ${2 ** 20})`, volume),
    );
    const { wrapperPid } = JSON.parse(readFileSync(join(stateDir, name, "pid.json"), "utf8")) as {
      wrapperPid: number;
    };
    let watcherPeakKb = 0;
    for (;;) {
      try {
        const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${wrapperPid}/status`, "utf8"));
        if (hwm) watcherPeakKb = Math.max(watcherPeakKb, Number(hwm[1]));
      } catch {
        // The watcher has exited.
      }
      const state = await runtime.inspect(name);
      if (state && !state.running) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const endedS = (performance.now() - start) / 1000;
    const onDisk = readdirSync(join(stateDir, name))
      .filter((file) => file.startsWith("log"))
      .reduce((sum, file) => sum + statSync(join(stateDir, name, file)).size, 0);
    const text: string = await runtime.logs(name);
    return {
      endedS: Math.round(endedS * 10) / 10,
      watcherPeakRssMb: Math.round(watcherPeakKb / 1024),
      logBytesOnDisk: onDisk,
      logChars: text.length,
    };
  } finally {
    await runtime.remove(name).catch(() => {});
    await removeDir(volume);
    await removeDir(stateDir);
  }
}

/** A job forking `count` processes that sleep: how many forks succeed. */
async function forkBomb(): Promise<Record<string, unknown>> {
  const { DockerRuntime } = await load("agent/runtime/docker.ts");
  const runtime = new DockerRuntime();
  const name = `os-job-forks${process.pid}`;
  const volume = await createTempDir("rap-hostile-");
  execFileSync("chmod", ["777", volume]);
  const code = [
    "import os, time",
    "forked = failed = 0",
    `for _ in range(${Number(size)}):`,
    "    try:",
    "        if os.fork() == 0:",
    "            os.execv('/usr/bin/sleep', ['sleep', '5'])",
    "        forked += 1",
    "    except OSError:",
    "        failed += 1",
    "open('forks.txt', 'w').write(f'{forked} {failed}')",
  ].join("\n");
  try {
    await runtime.start(spec(name, code, volume));
    await waitForEnd(runtime, name);
    const [forked, failed] = readFileSync(join(volume, "forks.txt"), "utf8").split(" ").map(Number);
    return { forked, failed };
  } finally {
    await runtime.remove(name).catch(() => {});
    await removeDir(volume);
  }
}

/**
 * A job whose container is removed (`docker rm -f`) while it runs; then a restarted agent drives it as the loop does
 * (PREPARED → execute, EXECUTED → finalize): how many times it ran and what it reported.
 */
async function removedMidRun(): Promise<Record<string, unknown>> {
  const { DockerRuntime } = await load("agent/runtime/docker.ts");
  const { JobExecutor } = await load("agent/executor.ts");
  const { MetricsStore } = await load("agent/metrics.ts");
  const { silentLogger } = await load("agent/log.ts");
  const { agentLayout, volumeDir } = await load("agent/workspace/paths.ts");
  const { loadAgentConfig } = await load("config/agent.ts");
  const { AgentStage } = await load("domain/task.ts");
  const workdir = await createTempDir("rap-hostile-");
  const repo = await createStudyRepo({
    files: {
      "project.yaml": "version: '3.0'\nactions:\n  analyse:\n    run: python:v2 analysis/analyse.py\n",
      "analysis/analyse.py": [
        "import os, time",
        "os.makedirs('output', exist_ok=True)",
        "open('runs.txt', 'a').write('run\\n')",
        "time.sleep(float(open('runs.txt').read().count('run') == 1) * 60)",
        "open('output/counts.csv', 'w').write('n\\n1\\n')",
      ].join("\n"),
    },
  });
  const env = { BACKEND: "test", CONTROLLER_TASK_API_ENDPOINT: "http://127.0.0.1:1/", WORKDIR: workdir };
  const config = loadAgentConfig({ ...env, DOCKER_USER_ID: "0", DOCKER_GROUP_ID: "0" }, workdir);
  const layout = agentLayout(config.storage);
  const runtime = new DockerRuntime({ stateDir: join(workdir, "docker-runtime") });
  const executor = () =>
    new JobExecutor({
      runtime,
      layout,
      git: {
        reposDir: join(workdir, "repos"),
        githubProxyDomain: "http://127.0.0.1:9",
        privateRepoAccessToken: "",
        allowedGithubOrgs: [],
        allowLocalGitRepos: true,
        timeoutMs: 20_000,
      },
      settings: { usingDummyDataBackend: false, databaseAccessNetwork: "", user: "0:0" },
      metrics: new MetricsStore(layout.metricsDir),
      log: silentLogger,
    });
  const job = jobDefinition(repo, { id: `hostile${String(process.pid).padStart(9, "0")}`, cpu_count: 1 });
  const name = `os-job-${job.id}`;
  try {
    await executor().prepare(job);
    await executor().execute(job);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    execFileSync("docker", ["rm", "-f", name], { stdio: "ignore" });
    const restarted = executor();
    for (let pass = 0; pass < 600; pass++) {
      const { state } = await restarted.getStatus(job);
      if (state === AgentStage.Prepared) await restarted.execute(job);
      else if (state === AgentStage.Executed) await restarted.finalize(job);
      else if (state === AgentStage.Finalized) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const { results } = await restarted.getStatus(job);
    const runs = readFileSync(join(volumeDir(layout, job.id), "runs.txt"), "utf8")
      .split("\n")
      .filter(Boolean).length;
    return {
      runs,
      exitCode: results.exit_code,
      statusMessage: results.status_message,
      outputs: results.outputs,
    };
  } finally {
    await runtime.remove(name).catch(() => {});
    await removeDir(workdir);
    await removeDir(repo.path);
  }
}

const attacks: Record<string, () => Promise<Record<string, unknown>>> = {
  "no-newline-log": noNewlineLog,
  "local-no-newline-log": localNoNewlineLog,
  "fork-bomb": forkBomb,
  "removed-mid-run": removedMidRun,
};
const result = await attacks[attack]!();
console.log(JSON.stringify(result));
