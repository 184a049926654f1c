/**
 * `rap serve` as a newcomer and an operator run it: the built command in a temp directory with a temp WORKDIR and
 * a free PORT. With no configuration it starts a `test` backend, generates a client token (WORKDIR/client-token,
 * 0600, the same on the next start) and prints it with a curl example; every URL it prints answers. A RAP runs to
 * success through the in-process agent; SIGTERM while a job runs leaves the job running, and the next start
 * finishes it (local executor always; Docker too when an engine and the test image are here).
 */
import { randomBytes } from "node:crypto";
import { stat } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { createStudyRepo, createTempDir, removeDir } from "../support/git-fixtures.js";
import { freePort } from "../support/ports.js";
import { dockerRequirement, requires } from "../support/requirements.js";
import { finalJobs, type Running, rapApi, startRap } from "./serve-support.js";

const docker = requires(await dockerRequirement());
/** Whole-system runs on a shared machine: generous, since no assertion is about time. */
const TIMEOUT_MS = 180_000;
const dirs: string[] = [];
const running: Running[] = [];

afterAll(async () => {
  for (const process of running) process.signal("SIGKILL");
  for (const dir of dirs) await removeDir(dir);
});

async function serve(env: Record<string, string>, cwd?: string) {
  const dir = cwd ?? (await createTempDir("rap-serve-"));
  if (!cwd) dirs.push(dir);
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const server = startRap(["serve"], { cwd: dir, env: { PORT: String(port), ...env } });
  running.push(server);
  await server.waitFor("listening at");
  await server.waitFor("agent started");
  return { server, port, dir };
}

test("with no configuration: a test backend, a generated client token printed with a curl example that works", {
  timeout: TIMEOUT_MS,
}, async () => {
  const { server, port, dir } = await serve({ EXECUTOR: "local" });
  const output = server.output();
  const file = join(dir, "workdir", "client-token");
  const token = /client token \(kept in (.+)\): ([0-9a-f]{40})\n/.exec(output);
  expect(token?.[1]).toBe(file);
  expect(((await stat(file)).mode & 0o777).toString(8)).toBe("600");
  expect(output).toContain(
    `curl -s -H 'Authorization: ${token![2]}' http://127.0.0.1:${port}/controller/v1/backend/status/`,
  );
  expect(output).toContain("executor:  local (EXECUTOR=local)");
  // An operator token too, for the dashboard whose URL it prints.
  const operatorFile = join(dir, "workdir", "operator-token");
  const operator = /operator token \(kept in (.+)\): ([0-9a-f]{40})\n/.exec(output);
  expect(operator?.[1]).toBe(operatorFile);
  expect(((await stat(operatorFile)).mode & 0o777).toString(8)).toBe("600");
  expect(output).toContain(`dashboard: http://127.0.0.1:${port}/dashboard/`);
  expect(output).toContain("EXECUTOR=local runs every action as a process on this machine");
  expect(output).toContain("ALLOW_LOCAL_GIT_REPOS=true: repo_url may be a local path");
  // The agent token is generated for the in-process agent, so the insecure default is not in use.
  expect(output).not.toContain("JOB_SERVER_TOKEN is not set");

  // Every URL printed at start-up answers (with the client token where one is needed).
  const urls = [...new Set(output.match(/http:\/\/127\.0\.0\.1:\d+\/[^\s'")]*/g))];
  expect(urls.length).toBeGreaterThanOrEqual(2);
  for (const url of urls) {
    const answer = await fetch(url, { headers: { authorization: token![2]! } });
    expect(answer.status, url).toBe(200);
  }
  const status = (await (
    await fetch(`http://127.0.0.1:${port}/controller/v1/backend/status/`, {
      headers: { authorization: token![2]! },
    })
  ).json()) as { backends: Array<{ slug: string; last_seen: string | null }> };
  expect(status.backends.map((b) => b.slug)).toEqual(["test"]);

  server.signal("SIGINT");
  expect(await server.exited).toBe(0);

  // The next start keeps the token.
  const again = await serve({ EXECUTOR: "local" }, dir);
  expect(again.server.output()).toContain(`): ${token![2]}\n`);
  expect(again.server.output()).toContain(`): ${operator![2]}\n`);
  again.server.signal("SIGTERM");
  expect(await again.server.exited).toBe(0);
});

test("configured client and operator tokens are used and never printed; the executor is said", {
  timeout: TIMEOUT_MS,
}, async () => {
  const { server, port } = await serve({
    BACKENDS: "test",
    TEST_CLIENT_TOKENS: "my-own-token",
    OPERATOR_TOKENS: "my-operator-token",
    EXECUTOR: "local",
  });
  expect(server.output()).not.toContain("client token");
  expect(server.output()).not.toContain("my-own-token");
  expect(server.output()).not.toContain("my-operator-token");
  expect(server.output()).toContain("operator token: one of OPERATOR_TOKENS");
  expect((await rapApi(port, "my-own-token", "rap/status/", { rap_ids: [] })).status).toBe(200);
  server.signal("SIGTERM");
  expect(await server.exited).toBe(0);
});

const SLEEPY_PROJECT = `version: "5"
actions:
  slow:
    run: python:v2 analysis/slow.py
    outputs:
      moderately_sensitive:
        result: output/result.csv
`;
const SLEEPY_SCRIPT = `import os, time
time.sleep(6)
os.makedirs("output", exist_ok=True)
open("output/result.csv", "w").write("answer\\n42\\n")
`;

async function restartScenario(executor: "local" | "docker") {
  const repo = await createStudyRepo({
    files: { "project.yaml": SLEEPY_PROJECT, "analysis/slow.py": SLEEPY_SCRIPT },
  });
  dirs.push(repo.path);
  const env = {
    EXECUTOR: executor,
    TEST_CLIENT_TOKENS: "client",
    BACKENDS: "test",
    JOB_LOOP_INTERVAL: "0.2",
  };
  const first = await serve(env);
  // Job ids derive from the RAP id and name the job's container: unique, as other runs may share the engine.
  const rapId = randomBytes(8).toString("hex");
  const created = await rapApi(first.port, "client", "rap/create/", {
    backend: "test",
    rap_id: rapId,
    workspace: "restart",
    repo_url: repo.path,
    branch: "main",
    commit: repo.commits[0],
    database_name: "default",
    requested_actions: ["slow"],
    codelists_ok: true,
    force_run_dependencies: false,
    created_by: "me",
    project: "restart",
    orgs: [],
  });
  expect(created.status).toBe(201);
  const job = async (port: number) =>
    (await rapApi(port, "client", "rap/status/", { rap_ids: [rapId] })).json.jobs[0] as {
      status: string;
      status_code: string;
    };
  for (let i = 0; i < 400 && (await job(first.port)).status_code !== "executing"; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect((await job(first.port)).status_code).toBe("executing");

  // A connection that sends nothing (a load balancer's spare) must not hold the shutdown past its grace.
  const spare = connect(first.port, "127.0.0.1");
  await new Promise((resolve) => spare.once("connect", resolve));
  first.server.child.kill("SIGTERM");
  expect(await first.server.exited).toBe(0);
  spare.destroy();
  expect(first.server.output()).toContain("SIGTERM received: shutting down");
  expect(first.server.output()).toContain('"msg":"agent stopped"');

  const second = await serve({ ...env, PORT: String(first.port) }, first.dir);
  expect(await finalJobs(second.port, "client", rapId)).toMatchObject([
    { action: "slow", status: "succeeded", status_code: "succeeded" },
  ]);
  second.server.signal("SIGTERM");
  expect(await second.server.exited).toBe(0);
}

test("SIGTERM while a job runs (local executor): the job keeps running and the next start finishes it", {
  timeout: TIMEOUT_MS,
}, async () => {
  await restartScenario("local");
});

describe.skipIf(!docker)("with Docker", () => {
  test("SIGTERM while a job's container runs: the next start picks the container up and finishes the job", {
    timeout: TIMEOUT_MS,
  }, async () => {
    await restartScenario("docker");
  });
});
