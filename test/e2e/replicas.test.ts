/**
 * Replicas (issue 15 build 2): three `rap controller` processes on one PostgreSQL database, behind a small loopback
 * load balancer (this test's own: it forwards to the replicas not yet killed), and a `rap agent` process
 * (EXECUTOR=local). The lease holder, found through /readyz, is SIGKILLed while jobs are moving, then the next one:
 * every job still succeeds, each action ran once, no job got a second RUNJOB task, and the survivor never answered
 * a 5xx. Then 200 concurrent creates spread over fresh replicas leave one active job per action. Skips, naming
 * RAP_TEST_POSTGRES_URL, where no PostgreSQL server is given.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer, request, type Server } from "node:http";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { afterEach, describe, expect, test } from "vitest";
import { cliPath, runCli } from "../support/cli.js";
import { createStudyRepo, createTempDir, removeDir } from "../support/git-fixtures.js";
import { freePort } from "../support/ports.js";
import { createTestPostgres, postgresRequirement } from "../support/postgres.js";
import { requires } from "../support/requirements.js";
import { SYSTEM_ENV } from "../support/system.js";
import { body } from "./support.js";

const available =
  requires(postgresRequirement()) &&
  requires({ available: existsSync("/usr/bin/python3"), reason: "/usr/bin/python3 is missing" });

/** SYSTEM_ENV's tokens: the controllers are configured as the other whole-system tests' are (no registry look-ups). */
const CLIENT_TOKEN = "test_token";
const AGENT_TOKEN = "agent_token";
const API = "/controller/v1";

interface Replica {
  readonly url: string;
  readonly child: ChildProcess;
  output(): string;
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

/** The built `rap` command as a child process, ended (SIGKILL) by the test's cleanup if still running. */
function spawnRap(args: string[], env: Record<string, string>): { child: ChildProcess; output(): string } {
  const child = spawn(process.execPath, [cliPath, ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  });
  return { child, output: () => output };
}

async function startReplicas(count: number, databaseUrl: string, workdir: string): Promise<Replica[]> {
  const replicas: Replica[] = [];
  for (let i = 0; i < count; i++) {
    const port = await freePort();
    const { child, output } = spawnRap(["controller"], {
      ...(SYSTEM_ENV as Record<string, string>),
      DATABASE_URL: databaseUrl,
      WORKDIR: join(workdir, `replica-${i}`),
      PORT: String(port),
      JOB_LOOP_INTERVAL: "0.2",
      TEST_MAX_WORKERS: "4",
    });
    replicas.push({ url: `http://127.0.0.1:${port}`, child, output });
  }
  for (const replica of replicas) {
    for (let waited = 0; !replica.output().includes("listening at"); waited += 20) {
      if (replica.child.exitCode !== null || waited > 30_000)
        throw new Error(`a replica did not start: ${replica.output()}`);
      await sleep(20);
    }
  }
  return replicas;
}

/** A load balancer on loopback: each request goes to the next replica still in `live` (round robin). */
async function loadBalancer(live: Set<Replica>): Promise<string> {
  let next = 0;
  const server: Server = createServer((incoming, outgoing) => {
    const targets = [...live];
    const target = new URL(targets[next++ % targets.length]!.url);
    const forward = request(
      {
        host: target.hostname,
        port: target.port,
        path: incoming.url,
        // A fresh connection each time: a kept-alive one may be closed by the replica just as it is reused.
        agent: false,
        method: incoming.method,
        headers: incoming.headers,
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forward.on("error", () => outgoing.writeHead(502).end());
    incoming.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

async function readyz(replica: Replica): Promise<{ database: string; scheduler_lease: boolean }> {
  return (await fetch(`${replica.url}/readyz`)).json() as never;
}

/** The replica whose scheduler holds the lease, among `among`, once one does (polling /readyz). */
async function holderAmong(among: Iterable<Replica>, timeoutMs = 20_000): Promise<Replica> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const replica of among) if ((await readyz(replica)).scheduler_lease) return replica;
    await sleep(20);
  }
  throw new Error("no replica took the scheduler lease");
}

const post = (url: string, path: string, payload: unknown) =>
  fetch(`${url}${API}${path}`, {
    method: "POST",
    headers: { authorization: CLIENT_TOKEN, "content-type": "application/json" },
    body: JSON.stringify(payload),
  });

/** A RAP's jobs by action, as rap/status/ shows them. */
async function jobsOf(
  url: string,
  rapId: string,
): Promise<Record<string, { status: string; identifier: string }>> {
  const response = await post(url, "/rap/status/", { rap_ids: [rapId] });
  if (response.status !== 200)
    throw new Error(`rap/status answered ${response.status}: ${await response.text()}`);
  const answer = (await response.json()) as {
    jobs: Array<{ action: string; status: string; identifier: string }>;
  };
  return Object.fromEntries(answer.jobs.map((job) => [job.action, job]));
}

/**
 * Polls rap/status/ and backend/status/ of each replica in `live` until stopped, collecting every 5xx answer. A
 * replica is taken out of `live` before it is killed, so only the living are asked.
 */
function watchFor5xx(live: Set<Replica>, rapId: string) {
  const failures: string[] = [];
  let polls = 0;
  let running = true;
  const done = (async () => {
    while (running) {
      for (const replica of [...live]) {
        const answers = await Promise.all([
          post(replica.url, "/rap/status/", { rap_ids: [rapId] }),
          fetch(`${replica.url}${API}/backend/status/`, { headers: { authorization: CLIENT_TOKEN } }),
        ]).catch((error: unknown) => {
          // A replica killed while asked: no answer is expected of it.
          if (live.has(replica)) failures.push(`${replica.url}: ${String(error)}`);
          return [];
        });
        polls += 1;
        for (const answer of answers)
          if (answer.status >= 500) failures.push(`${replica.url}: ${answer.status} ${await answer.text()}`);
      }
      await sleep(50);
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      return { failures, polls };
    },
  };
}

/** A fan-out and fan-in: prep → eight analyses → merge → two reports, twelve jobs; each run appends its name. */
function study(runsFile: string): Record<string, string> {
  const analyses = Array.from({ length: 8 }, (_, i) => `analyse_${i}`);
  const actions: Array<[string, string[]]> = [
    ["prep", []],
    ...analyses.map((name): [string, string[]] => [name, ["prep"]]),
    ["merge", analyses],
    ["report_a", ["merge"]],
    ["report_b", ["merge"]],
  ];
  const lines = ["version: '4.0'", "actions:"];
  const files: Record<string, string> = {};
  for (const [name, needs] of actions) {
    lines.push(`  ${name}:`, `    run: python:v2 analysis/${name}.py`);
    if (needs.length > 0) lines.push(`    needs: [${needs.join(", ")}]`);
    lines.push("    outputs:", "      moderately_sensitive:", `        out: output/${name}.txt`);
    files[`analysis/${name}.py`] =
      `import os, time\nopen(${JSON.stringify(runsFile)}, 'a').write('${name}\\n')\ntime.sleep(0.4)\n` +
      `os.makedirs('output', exist_ok=True)\nopen('output/${name}.txt', 'w').write('done\\n')\n`;
  }
  files["project.yaml"] = `${lines.join("\n")}\n`;
  return files;
}

describe.skipIf(!available)("replicas on one PostgreSQL database", () => {
  async function setUp() {
    const workdir = await createTempDir("rap-replicas-");
    cleanups.push(() => removeDir(workdir));
    const server = await createTestPostgres();
    cleanups.push(() => server.drop());
    // Migrated once, as an operator would before starting replicas.
    const migrated = await runCli(["migrate"], { DATABASE_URL: server.url, WORKDIR: workdir });
    expect(migrated.code, migrated.stderr).toBe(0);
    return { workdir, databaseUrl: server.url };
  }

  test("the lease holder SIGKILLed twice while jobs move: every job succeeds, once, with one RUNJOB task, and no 5xx", async () => {
    const { workdir, databaseUrl } = await setUp();
    const runsFile = join(workdir, "runs.log");
    const repo = await createStudyRepo({ files: study(runsFile) });
    const replicas = await startReplicas(3, databaseUrl, workdir);
    const live = new Set(replicas);
    const balancer = await loadBalancer(live);
    const agent = spawnRap(["agent", "--backend", "test"], {
      BACKENDS: "test",
      BACKEND: "test",
      CONTROLLER_TASK_API_ENDPOINT: balancer,
      CONTROLLER_TASK_API_TOKEN: AGENT_TOKEN,
      WORKDIR: join(workdir, "agent"),
      ALLOW_LOCAL_GIT_REPOS: "true",
      EXECUTOR: "local",
      JOB_LOOP_INTERVAL: "0.1",
    });

    const create = body(repo.path, repo.commits[0]!, { requested_actions: ["report_a", "report_b"] });
    expect((await post(balancer, "/rap/create/", create)).status).toBe(201);
    const rapId = create.rap_id as string;
    const watch = watchFor5xx(live, rapId);

    const takeovers: number[] = [];
    /** The jobs' states when each holder was killed: some must be running, and some not yet done. */
    const atKills: string[][] = [];
    const movingAtKills = [
      (states: string[]) => states.includes("running"),
      (states: string[]) => states.includes("running") && states.includes("succeeded"),
    ];
    for (const moving of movingAtKills) {
      // Wait until jobs are moving (the first kill: some running; the second: some running and some already done;
      // between two analyses' starts, under load, none may be running for a moment).
      let states: string[] = [];
      for (let i = 0; i < 600 && !moving(states); i++) {
        states = Object.values(await jobsOf(balancer, rapId)).map((job) => job.status);
        await sleep(50);
      }
      atKills.push(states);
      const holder = await holderAmong(live);
      live.delete(holder);
      const killedAt = Date.now();
      holder.child.kill("SIGKILL");
      await holderAmong(live);
      takeovers.push(Date.now() - killedAt);
    }

    let jobs: Record<string, { status: string; identifier: string }> = {};
    for (let i = 0; i < 600; i++) {
      jobs = await jobsOf(balancer, rapId);
      if (Object.values(jobs).every((job) => job.status === "succeeded" || job.status === "failed")) break;
      await sleep(100);
    }
    const { failures, polls } = await watch.stop();
    console.log(
      `takeover after SIGKILL of the lease holder: ${takeovers.map((ms) => `${ms} ms`).join(", ")}`,
    );

    expect(Object.keys(jobs)).toHaveLength(12);
    expect(
      Object.values(jobs).map((job) => job.status),
      [...live, agent].map((process) => process.output().slice(-3000)).join("\n----\n"),
    ).toEqual(Array(12).fill("succeeded"));
    const runs = (await readFile(runsFile, "utf8")).trim().split("\n").sort();
    expect(runs).toEqual(Object.keys(jobs).sort());
    expect(await runJobTasksPerJob(databaseUrl)).toEqual(
      Object.fromEntries(Object.values(jobs).map((job) => [job.identifier, 1])),
    );
    expect(failures).toEqual([]);
    expect(polls).toBeGreaterThan(0);
    for (const states of atKills) {
      expect(states).toContain("running");
      expect(states.filter((state) => state !== "succeeded").length).toBeGreaterThan(1);
    }
  }, 180_000);

  test("200 concurrent creates for one workspace, spread over three replicas, leave one active job per action", async () => {
    const { workdir, databaseUrl } = await setUp();
    const repo = await createStudyRepo({ files: study(join(workdir, "runs.log")) });
    const replicas = await startReplicas(3, databaseUrl, workdir);
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        post(
          replicas[i % replicas.length]!.url,
          "/rap/create/",
          body(repo.path, repo.commits[0]!, {
            workspace: "race",
            requested_actions: ["report_a", "report_b"],
          }),
        ),
      ),
    );
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 201 || status === 200)).toHaveLength(200);
    expect(statuses.filter((status) => status === 201)).toHaveLength(1);
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const rows = await client.query<{ action: string; n: string }>(
        "select action, count(*) as n from job where workspace = 'race' and state in ('pending', 'running') group by action",
      );
      expect(rows.rows.map((row) => Number(row.n))).toEqual(Array(12).fill(1));
    } finally {
      await client.end();
    }
  }, 120_000);
});

/** RUNJOB tasks per job, as stored: a job started twice would have two. */
async function runJobTasksPerJob(databaseUrl: string): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const rows = await client.query<{ job_id: string; n: string }>(
      "select job_id, count(*) as n from tasks where type = 'runjob' group by job_id",
    );
    return Object.fromEntries(rows.rows.map((row) => [row.job_id, Number(row.n)]));
  } finally {
    await client.end();
  }
}
