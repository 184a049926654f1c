/** Shared set-up for the agent tests: a temp WORKDIR laid out as the agent's, a real study repo, job definitions. */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { JobExecutor } from "../../src/agent/executor.js";
import { type AgentLogger, silentLogger } from "../../src/agent/log.js";
import { MetricsStore } from "../../src/agent/metrics.js";
import { type AgentLayout, agentLayout } from "../../src/agent/workspace/paths.js";
import { type AgentConfig, loadAgentConfig } from "../../src/config/agent.js";
import type { JobDefinition } from "../../src/domain/task.js";
import type { GitSettings } from "../../src/git/index.js";
import { createStudyRepo, createTempDir, removeDir, type StudyRepo } from "../support/git-fixtures.js";
import { jobDefinition } from "../support/job-definitions.js";
import { FakeRuntime } from "./fake-runtime.js";

export const PROJECT_YAML = `version: '3.0'
expectations:
  population_size: 100
actions:
  generate_dataset:
    run: ehrql:v1 generate-dataset analysis/dataset_definition.py --output=output/dataset.csv
    outputs:
      highly_sensitive:
        dataset: output/dataset.csv
  analyse:
    run: python:v2 analysis/analyse.py
    needs: [generate_dataset]
    outputs:
      moderately_sensitive:
        counts: output/counts.csv
`;

export interface AgentFixture {
  readonly workdir: string;
  readonly config: AgentConfig;
  readonly layout: AgentLayout;
  readonly git: GitSettings;
  readonly runtime: FakeRuntime;
  readonly repo: StudyRepo;
  /** A new executor object over the same directories and runtime (as after an agent restart). */
  executor(log?: AgentLogger): JobExecutor;
  job(overrides?: Partial<JobDefinition>): JobDefinition;
  read(path: string): Promise<string>;
  cleanup(): Promise<void>;
}

let counter = 0;

export async function agentFixture(env: Record<string, string> = {}): Promise<AgentFixture> {
  const workdir = await createTempDir("rap-agent-");
  const repo = await createStudyRepo({
    files: { "project.yaml": PROJECT_YAML, "analysis/analyse.py": "print('hi')\n" },
  });
  const config = loadAgentConfig(
    {
      BACKEND: "test",
      CONTROLLER_TASK_API_ENDPOINT: "http://127.0.0.1:1/",
      WORKDIR: workdir,
      ALLOW_LOCAL_GIT_REPOS: "true",
      DOCKER_USER_ID: "1000",
      DOCKER_GROUP_ID: "1000",
      ...env,
    },
    workdir,
  );
  const layout = agentLayout(config.storage);
  const git: GitSettings = {
    reposDir: join(workdir, "repos"),
    githubProxyDomain: "http://127.0.0.1:9",
    privateRepoAccessToken: "",
    allowedGithubOrgs: config.allowedGithubOrgs,
    allowLocalGitRepos: true,
    timeoutMs: 20_000,
  };
  const runtime = new FakeRuntime();
  const executor = (log: AgentLogger = silentLogger) =>
    new JobExecutor({
      runtime,
      layout,
      git,
      settings: {
        usingDummyDataBackend: config.usingDummyDataBackend,
        databaseAccessNetwork: config.databaseAccessNetwork,
        maxJobOutputBytes: config.maxJobOutputBytes,
        user: `${config.dockerUserId}:${config.dockerGroupId}`,
      },
      metrics: new MetricsStore(layout.metricsDir),
      log,
    });
  return {
    workdir,
    config,
    layout,
    git,
    runtime,
    repo,
    executor,
    job(overrides = {}) {
      counter++;
      const id = overrides.id ?? `job${String(counter).padStart(4, "0")}abcdefgh`.slice(0, 16);
      return jobDefinition(repo, { image_sha: "sha256:abc", ...overrides, id });
    },
    read: (path) => readFile(path, "utf8"),
    async cleanup() {
      await removeDir(workdir);
      await removeDir(repo.path);
    },
  };
}

/** A program that writes files (relative path → contents) into the volume, then exits with `exitCode`. */
export function writes(files: Record<string, string>, exitCode = 0) {
  return async ({ spec, log }: { spec: { volumeDir: string }; log: (line: string) => void }) => {
    for (const [path, contents] of Object.entries(files)) {
      const full = join(spec.volumeDir, path);
      await mkdir(dirname(full), { recursive: true });
      await writeFile(full, contents);
      log(`wrote ${path}`);
    }
    return exitCode;
  };
}
