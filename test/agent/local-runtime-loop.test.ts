/**
 * The agent end to end over the real local runtime (host processes running python3): a job whose output feeds a
 * second job, level 4 and the manifest, through a recording test double of the controller's Task API (the real
 * controller joins in the e2e tests).
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createAgent } from "../../src/agent/index.js";
import { silentLogger } from "../../src/agent/log.js";
import { LocalRuntime } from "../../src/agent/runtime/local.js";
import { loadAgentConfig } from "../../src/config/agent.js";
import type { JobDefinition } from "../../src/domain/task.js";
import { createStudyRepo, createTempDir, removeDir, type StudyRepo } from "../support/git-fixtures.js";
import { jobDefinition, runJobTask } from "../support/job-definitions.js";
import { requires } from "../support/requirements.js";
import { FakeController } from "./fake-controller.js";

const python = requires({ available: existsSync("/usr/bin/python3"), reason: "/usr/bin/python3 is missing" });

const PROJECT = `version: '3.0'
expectations:
  population_size: 10
actions:
  make:
    run: python:v2 analysis/make.py
    outputs:
      highly_sensitive:
        data: output/data.csv
  count:
    run: python:v2 analysis/count.py
    needs: [make]
    outputs:
      moderately_sensitive:
        counts: output/counts.csv
`;

describe.skipIf(!python)("agent loop over the local runtime", () => {
  let workdir: string;
  let repo: StudyRepo;
  let controller: FakeController;
  beforeAll(async () => {
    workdir = await createTempDir("rap-agent-local-");
    repo = await createStudyRepo({
      files: {
        "project.yaml": PROJECT,
        "analysis/make.py":
          "import os\nos.makedirs('output', exist_ok=True)\nopen('output/data.csv', 'w').write('patient_id,x\\n1,a\\n2,b\\n')\nprint('made', os.environ['OPENSAFELY_BACKEND'])\n",
        "analysis/count.py":
          "rows = open('output/data.csv').read().splitlines()[1:]\nopen('output/counts.csv', 'w').write('n\\n%d\\n' % len(rows))\n",
      },
    });
    controller = await new FakeController().start();
  });
  afterAll(async () => {
    await controller.stop();
    await removeDir(workdir);
    await removeDir(repo.path);
  });

  function job(id: string, action: string, outputs: Record<string, string>, inputs: string[]): JobDefinition {
    return jobDefinition(repo, {
      id,
      action,
      args: [`analysis/${action}.py`],
      input_job_ids: inputs,
      output_spec: outputs,
      cpu_count: null,
      memory_limit: null,
    });
  }
  const task = (definition: JobDefinition) => runJobTask(definition);

  test("two dependent jobs run to finalized; outputs, level 4 copy, logs and manifest on disk", async () => {
    const config = loadAgentConfig(
      {
        BACKEND: "test",
        CONTROLLER_TASK_API_ENDPOINT: controller.url,
        CONTROLLER_TASK_API_TOKEN: controller.token,
        WORKDIR: workdir,
        ALLOW_LOCAL_GIT_REPOS: "true",
        EXECUTOR: "local",
      },
      workdir,
    );
    const runtime = new LocalRuntime({ stateDir: join(workdir, "local-runtime") });
    const agent = createAgent(config, runtime, { log: silentLogger, retryBaseMs: 0 });
    const untilIdle = async () => {
      for (let i = 0; i < 400 && controller.tasks.length > 0; i++) {
        await agent.loop.runOnce();
        await sleep(25);
      }
    };

    const make = job("makejobaaaaaaaaa", "make", { "output/data.csv": "highly_sensitive" }, []);
    controller.tasks = [task(make)];
    await untilIdle();
    expect(controller.updatesOf(make.task_id).at(-1)).toMatchObject({ stage: "finalized", complete: true });

    const count = job("countjobaaaaaaaa", "count", { "output/counts.csv": "moderately_sensitive" }, [
      make.id,
    ]);
    controller.tasks = [task(count)];
    await untilIdle();
    const final = controller.updatesOf(count.task_id).at(-1)!;
    expect(final).toMatchObject({ stage: "finalized", complete: true });
    expect(final.results).toMatchObject({ exit_code: "0", status_message: "Completed successfully" });

    const high = join(workdir, "high_privacy", "workspaces", "testing");
    const medium = join(workdir, "medium_privacy", "workspaces", "testing");
    expect(await readFile(join(high, "output/data.csv"), "utf8")).toBe("patient_id,x\n1,a\n2,b\n");
    expect(existsSync(join(medium, "output/data.csv"))).toBe(false);
    expect(await readFile(join(medium, "output/counts.csv"), "utf8")).toBe("n\n2\n");
    expect(await readFile(join(high, "metadata/make.log"), "utf8")).toContain("made test\n");
    const manifest = JSON.parse(await readFile(join(medium, "metadata/manifest.json"), "utf8"));
    expect(manifest).toMatchObject({ workspace: "testing", repo: null });
    expect(Object.keys(manifest.outputs).sort()).toEqual(["output/counts.csv", "output/data.csv"]);
    expect(manifest.outputs["output/counts.csv"]).toMatchObject({
      row_count: 1,
      col_count: 1,
      excluded: false,
    });
  });
});
