/**
 * `rap serve` with a study whose actions wait for a gate: each prints a line, waits until the test creates the file
 * `{gates}/{action}`, prints another and writes its output. So a test can look at a job while it runs, for as long as
 * it needs, without any assertion about time. Local executor (host processes can see the gate files).
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "vitest";
import { createStudyRepo, createTempDir, removeDir } from "../support/git-fixtures.js";
import { freePort } from "../support/ports.js";
import { type Running, rapApi, startRap } from "./serve-support.js";

export const CLIENT_TOKEN = "client";

const PROJECT = `version: "5"
actions:
  prepare:
    run: python:v2 analysis/step.py prepare
    outputs:
      moderately_sensitive:
        out: output/prepare.txt
  analyse:
    run: python:v2 analysis/step.py analyse
    needs: [prepare]
    outputs:
      moderately_sensitive:
        out: output/analyse.txt
`;

const script = (gates: string) => `import os, sys, time
name = sys.argv[1]
print(name + " before", flush=True)
while not os.path.exists(os.path.join(${JSON.stringify(gates)}, name)):
    time.sleep(0.05)
print(name + " after", flush=True)
os.makedirs("output", exist_ok=True)
open("output/" + name + ".txt", "w").write(name + "\\n")
`;

export interface GatedStudy {
  readonly repoPath: string;
  /** A rap/create/ body for these actions of the study on the `test` backend. */
  createBody(rapId: string, actions: string[]): Record<string, unknown>;
  /** Lets the action's jobs go on past their gate. */
  release(action: string): Promise<void>;
  /** Releases every gate (job processes outlive servers) and removes the study. */
  remove(): Promise<void>;
}

export async function createGatedStudy(): Promise<GatedStudy> {
  const gates = await createTempDir("rap-gates-");
  const repo = await createStudyRepo({
    files: { "project.yaml": PROJECT, "analysis/step.py": script(gates) },
  });
  const release = (action: string) => writeFile(join(gates, action), "");
  return {
    repoPath: repo.path,
    createBody: (rapId, actions) => ({
      backend: "test",
      rap_id: rapId,
      workspace: "live",
      repo_url: repo.path,
      branch: "main",
      commit: repo.commits[0],
      database_name: "default",
      requested_actions: actions,
      codelists_ok: true,
      force_run_dependencies: false,
      created_by: "me",
      project: "live",
      orgs: [],
    }),
    release,
    async remove() {
      for (const action of ["prepare", "analyse"]) await release(action);
      for (const path of [gates, repo.path]) await removeDir(path);
    },
  };
}

export interface GatedServe {
  readonly server: Running;
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** The operator token `rap serve` generated and printed. */
  readonly operatorToken: string;
  /** Creates a RAP of these actions on the `test` backend. */
  createRap(rapId: string, actions: string[]): Promise<void>;
  /** The RAP's jobs as rap/status/ shows them, by action. */
  jobs(rapId: string): Promise<Record<string, { identifier: string; status: string; status_code: string }>>;
  /** Lets the action's job go on past its gate. */
  release(action: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startGatedServe(env: Record<string, string> = {}): Promise<GatedServe> {
  const dir = await createTempDir("rap-live-");
  const study = await createGatedStudy();
  const port = await freePort();
  const server = startRap(["serve"], {
    cwd: dir,
    env: {
      PORT: String(port),
      EXECUTOR: "local",
      BACKENDS: "test",
      TEST_CLIENT_TOKENS: CLIENT_TOKEN,
      JOB_LOOP_INTERVAL: "0.2",
      ...env,
    },
  });
  await server.waitFor("agent started");
  const token = /operator token \(kept in .+\): ([0-9a-f]{40})\n/.exec(server.output());
  expect(token, server.output()).not.toBeNull();
  const jobs = async (rapId: string) => {
    const answer = await rapApi(port, CLIENT_TOKEN, "rap/status/", { rap_ids: [rapId] });
    return Object.fromEntries(answer.json.jobs.map((job) => [job.action, job])) as unknown as Awaited<
      ReturnType<GatedServe["jobs"]>
    >;
  };
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    dir,
    operatorToken: token![1]!,
    jobs,
    async createRap(rapId, actions) {
      const created = await rapApi(port, CLIENT_TOKEN, "rap/create/", study.createBody(rapId, actions));
      expect(created.status, JSON.stringify(created.json)).toBe(201);
    },
    release: study.release,
    async stop() {
      server.signal("SIGTERM");
      await server.exited;
      await study.remove();
      await removeDir(dir);
    },
  };
}

/** Polls until `check` holds (a minute at most): the tests wait for states, never for a time. */
export async function eventually(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`never: ${what}`);
}
