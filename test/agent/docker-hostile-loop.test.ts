/**
 * The agent end to end over the real Docker runtime against hostile jobs, through a recording test double of the
 * controller's Task API: a job printing far more than JOB_LOG_MAX_BYTES without a newline (once fatal to the whole
 * process), and a job whose container is removed from outside while it runs.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createAgent } from "../../src/agent/index.js";
import { silentLogger } from "../../src/agent/log.js";
import { DockerRuntime } from "../../src/agent/runtime/docker.js";
import { CONTAINER_VANISHED } from "../../src/agent/status-message.js";
import { agentLayout, jobLogDir } from "../../src/agent/workspace/paths.js";
import { loadAgentConfig } from "../../src/config/agent.js";
import { createStudyRepo, createTempDir, removeDir, type StudyRepo } from "../support/git-fixtures.js";
import { jobDefinition, runJobTask } from "../support/job-definitions.js";
import { dockerRequirement, dockerSocket, requires } from "../support/requirements.js";
import { FakeController } from "./fake-controller.js";

const dockerOk = requires(await dockerRequirement());

describe.skipIf(!dockerOk)("agent loop over the Docker runtime, hostile jobs", () => {
  let workdir: string;
  let repo: StudyRepo;
  let controller: FakeController;
  beforeAll(async () => {
    workdir = await createTempDir("rap-agent-docker-");
    repo = await createStudyRepo({
      files: {
        "project.yaml": "version: '3.0'\nactions:\n  shout:\n    run: python:v2 analysis/shout.py\n",
        // 64 MiB on one line, then the line a researcher needs.
        "analysis/shout.py":
          "import os, sys\nos.makedirs('output', exist_ok=True)\nopen('output/counts.csv', 'w').write('n\\n1\\n')\n" +
          "for _ in range(64): sys.stdout.write('x' * 1048576)\nprint('\\nthe last line')\n",
        "analysis/sleep.py": "import time\ntime.sleep(120)\n",
      },
    });
    controller = await new FakeController().start();
  });
  afterAll(async () => {
    await controller.stop();
    await removeDir(workdir);
    await removeDir(repo.path);
  });

  function agent() {
    const config = loadAgentConfig(
      {
        BACKEND: "test",
        CONTROLLER_TASK_API_ENDPOINT: controller.url,
        CONTROLLER_TASK_API_TOKEN: controller.token,
        WORKDIR: workdir,
        ALLOW_LOCAL_GIT_REPOS: "true",
        EXECUTOR: "docker",
        JOB_LOG_MAX_BYTES: "65536",
      },
      workdir,
    );
    const runtime = new DockerRuntime({
      socketPath: dockerSocket,
      logMaxBytes: config.jobLogMaxBytes,
      stateDir: join(workdir, "docker-runtime"),
    });
    return { config, runtime, ...createAgent(config, runtime, { log: silentLogger, retryBaseMs: 0 }) };
  }

  const job = (id: string, script: string) =>
    jobDefinition(repo, {
      id,
      action: "shout",
      args: [`analysis/${script}.py`],
      cpu_count: null,
      memory_limit: null,
      output_spec: { "output/counts.csv": "moderately_sensitive" },
    });

  async function untilFinal(loop: { runOnce(): Promise<unknown> }, taskId: string) {
    for (let i = 0; i < 1200; i++) {
      await loop.runOnce();
      const last = controller.updatesOf(taskId).at(-1);
      if (last?.complete) return last;
      await sleep(50);
    }
    throw new Error(`task ${taskId} never completed`);
  }

  test("a job printing 64 MiB without a newline finishes; logs.txt keeps its end and says what was left out", async () => {
    const { loop, config } = agent();
    const definition = job("shoutjobaaaaaaaa", "shout");
    controller.tasks = [runJobTask(definition)];
    const final = await untilFinal(loop, definition.task_id);
    expect(final).toMatchObject({ stage: "finalized", results: { exit_code: "0" } });
    const logs = await readFile(join(jobLogDir(agentLayout(config.storage), definition), "logs.txt"));
    expect(logs.length).toBeLessThan(65_536 + 4096);
    const text = logs.toString("utf8");
    expect(text.split("\n", 1)[0]).toMatch(
      /^\[… [\d,]+ bytes of earlier output were left out of this log: it keeps the job's last 100,000 lines, at most 65,536 bytes \(JOB_LOG_MAX_BYTES\) …\]$/,
    );
    expect(text).toContain("Z the last line\n");
    expect(text).toContain("=============JOB SUMMARY=============");
  });

  test("a job whose container is removed from outside mid-run fails, after an agent restart too, and never runs again", async () => {
    const first = agent();
    const definition = job("vanishjobaaaaaaa", "sleep");
    controller.tasks = [runJobTask(definition)];
    const name = `os-job-${definition.id}`;
    for (let i = 0; i < 600 && !(await first.runtime.inspect(name))?.running; i++) {
      await first.loop.runOnce();
      await sleep(50);
    }
    await new Docker({ socketPath: dockerSocket }).getContainer(name).remove({ force: true });
    const restarted = agent();
    const final = await untilFinal(restarted.loop, definition.task_id);
    expect(final).toMatchObject({
      stage: "finalized",
      results: { exit_code: "None", status_message: CONTAINER_VANISHED },
    });
    // Not started again: no container of that name exists.
    expect(await restarted.runtime.inspect(name)).toBeNull();
  });
});
