/**
 * scenarios.md §I (S167–S175), the reference's integration test, step by step: the real controller ticked by the
 * test, the real agent driven one pass at a time, real containers (or host processes). Offline adaptation as the
 * scenarios describe: no reusable action (it lives on GitHub), so RAP1 has 6 jobs. ehrQL cannot run here: the
 * study carries a `generate-dataset` Python script, which the test `ehrql:v1` image (python3 as its entrypoint)
 * runs in ehrQL's place with the same arguments.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { RuntimeKind } from "../../src/agent/runtime/index.js";
import { StatusMessage } from "../../src/domain/messages.js";
import { createStudyRepo, removeDir } from "../support/git-fixtures.js";
import { startWholeSystem, type WholeSystem } from "../support/whole-system.js";

const PROJECT = `version: '3.0'
expectations:
  population_size: 100
actions:
  generate_dataset:
    run: ehrql:v1 generate-dataset analysis/dataset_definition.py --output=output/dataset.csv
    outputs:
      highly_sensitive:
        dataset: output/dataset.csv
  generate_dataset_with_dummy_data:
    run: ehrql:v1 generate-dataset analysis/dataset_definition.py --output=output/extra/dataset.csv --dummy-data-file=test-data/ehrql-dummy-data.csv
    outputs:
      highly_sensitive:
        dataset: output/extra/dataset.csv
  prepare_data_m_ehrql:
    run: python:v2 analysis/filter_by_sex.py M output/dataset.csv ehrql-male.csv
    needs: [generate_dataset]
    outputs:
      highly_sensitive:
        data: ehrql-male*.csv
  prepare_data_f_ehrql:
    run: python:v2 analysis/filter_by_sex.py F output/dataset.csv ehrql-female.csv
    needs: [generate_dataset]
    outputs:
      highly_sensitive:
        data: ehrql-female*.csv
  prepare_data_with_quote_in_filename_ehrql:
    run: python:v2 analysis/filter_by_sex.py F output/dataset.csv "ehrql-qu'ote.csv"
    needs: [generate_dataset]
    outputs:
      highly_sensitive:
        data: "ehrql-qu'ote.csv"
  analyse_data_ehrql:
    run: python:v2 analysis/count_lines.py ehrql-counts.txt
    config:
      files: [ehrql-male.csv, ehrql-female.csv, "ehrql-qu'ote.csv"]
    needs: [prepare_data_m_ehrql, prepare_data_f_ehrql, prepare_data_with_quote_in_filename_ehrql]
    outputs:
      moderately_sensitive:
        counts: ehrql-counts.txt
  test_cancellation_ehrql:
    run: python:v2 python analysis/count_by_year.py output/dataset.csv ehrql-somefile.csv
    needs: [generate_dataset]
    outputs:
      highly_sensitive:
        somefile: ehrql-somefile.csv
  copy_highly_sensitive_data:
    run: python:v2 -c 'import shutil; shutil.copyfile("output/dataset.csv", "output/data.csv")'
    needs: [generate_dataset]
    outputs:
      moderately_sensitive:
        data: output/data.csv
`;

const FILES = {
  "project.yaml": PROJECT,
  "analysis/dataset_definition.py": "# read by ehrQL; the stand-in generate-dataset only checks it exists\n",
  // ehrQL's stand-in. Without dummy data it takes a moment, so that the agent sees its container running.
  "generate-dataset": [
    "import os, shutil, sys, time",
    "definition, *options = sys.argv[1:]",
    "assert os.path.exists(definition), definition",
    "opts = dict(o[2:].split('=', 1) for o in options)",
    "os.makedirs(os.path.dirname(opts['output']), exist_ok=True)",
    "if 'dummy-data-file' in opts:",
    "    shutil.copyfile(opts['dummy-data-file'], opts['output'])",
    "else:",
    "    time.sleep(2)",
    "    rows = ['patient_id,sex,year'] + ['%d,%s,%d' % (i, 'MF'[i % 2], 1950 + i) for i in range(1, 101)]",
    "    open(opts['output'], 'w').write('\\n'.join(rows) + '\\n')",
    "",
  ].join("\n"),
  "test-data/ehrql-dummy-data.csv": "patient_id,sex,year\n1,M,1960\n2,F,1970\n",
  "analysis/filter_by_sex.py": [
    "import sys",
    "sex, source, target = sys.argv[1:4]",
    "lines = open(source).read().splitlines()",
    "kept = [lines[0]] + [l for l in lines[1:] if l.split(',')[1] == sex]",
    "open(target, 'w').write('\\n'.join(kept) + '\\n')",
    "",
  ].join("\n"),
  "analysis/count_lines.py": [
    "import json, sys",
    "target = sys.argv[1]",
    "config = json.loads(sys.argv[sys.argv.index('--config') + 1])",
    "counts = ['%s: %d' % (f, len(open(f).read().splitlines()) - 1) for f in config['files']]",
    "open(target, 'w').write('\\n'.join(counts) + '\\n')",
    "",
  ].join("\n"),
  "analysis/count_by_year.py": "raise SystemExit('never runs: the job is cancelled first')\n",
};

/** What these steps read of a task the Task API serves. */
interface ActiveTask {
  id: string;
  type: string;
  definition: { action: string };
}

const RAP1 = "12345678abcdefgh";
const RAP2 = "87654321hgfedcba";

export function integrationScenario(runtime: RuntimeKind, available: boolean): void {
  describe.skipIf(!available)(
    `scenarios §I end to end over the ${runtime} runtime`,
    { timeout: 120_000 },
    () => {
      let ws: WholeSystem;
      let repo: { path: string; commit: string };
      beforeAll(async () => {
        ws = await startWholeSystem({
          runtime,
          loop: false,
          controllerEnv: { TEST_MAX_WORKERS: "4" },
          agentEnv: {
            USING_DUMMY_DATA_BACKEND: "true",
            LOCAL_EXECUTOR_COMMANDS: "python=python3,ehrql=python3",
          },
        });
        const study = await createStudyRepo({ files: FILES });
        repo = { path: study.path, commit: study.commits[0]! };
      });
      afterAll(async () => {
        await ws?.close();
        if (repo) await removeDir(repo.path);
      });

      const create = (rapId: string, actions: string[], branch = "main") =>
        ws.system.post("/rap/create/", {
          rap_id: rapId,
          requested_actions: actions,
          force_run_dependencies: false,
          workspace: "testing",
          repo_url: repo.path,
          branch,
          codelists_ok: true,
          database_name: "default",
          commit: repo.commit,
          created_by: "user",
          project: "project",
          orgs: ["org"],
          backend: "test",
        });
      const tasks = async (): Promise<ActiveTask[]> => {
        const answer = await fetch(`${ws.system.url}/test/tasks/`, {
          headers: { authorization: "agent_token" },
        });
        return ((await answer.json()) as { tasks: ActiveTask[] }).tasks;
      };
      const jobs = async () => ({ ...(await ws.system.jobs(RAP1)), ...(await ws.system.jobs(RAP2)) });
      const tick = () => ws.system.tick();

      test("S167–S175", async () => {
        // S167
        const created = await create(RAP1, ["analyse_data_ehrql", "test_cancellation_ehrql"]);
        expect(created.status, JSON.stringify(created.json)).toBe(201);
        expect(created.json.count).toBe(6);
        for (const job of Object.values(await ws.system.jobs(RAP1))) {
          expect(job).toMatchObject({ status: "pending", status_code: "created", started_at: null });
        }
        expect(await tasks()).toEqual([]);

        // S168
        await tick();
        let active = await tasks();
        let status = await jobs();
        expect(active).toHaveLength(1);
        expect(active[0]).toMatchObject({ type: "runjob" });
        expect(active[0]?.id.startsWith(status.generate_dataset.identifier)).toBe(true);
        expect(status.generate_dataset).toMatchObject({ status: "running", status_code: "initiated" });
        const started = status.generate_dataset.started_at;
        expect(started).not.toBeNull();
        for (const action of [
          "prepare_data_m_ehrql",
          "prepare_data_f_ehrql",
          "prepare_data_with_quote_in_filename_ehrql",
          "analyse_data_ehrql",
          "test_cancellation_ehrql",
        ]) {
          expect(status[action].status_code, action).toBe("waiting_on_dependencies");
          expect(status[action].status_message.startsWith("Waiting on dependencies"), action).toBe(true);
        }

        // S169
        await ws.agentPass();
        await tick();
        status = await jobs();
        expect(status.generate_dataset).toMatchObject({
          status: "running",
          status_code: "prepared",
          started_at: started,
        });

        // S170
        await ws.agentPass();
        await tick();
        status = await jobs();
        expect(status.generate_dataset).toMatchObject({
          status: "running",
          status_code: "executing",
          started_at: started,
        });

        // S171
        const cancel = await ws.system.post("/rap/cancel/", {
          rap_id: RAP1,
          actions: ["test_cancellation_ehrql"],
        });
        expect(cancel.json.count).toBe(1);
        const second = await create(RAP2, ["generate_dataset_with_dummy_data"], "HEAD");
        expect(second.status, JSON.stringify(second.json)).toBe(201);
        expect(second.json.count).toBe(1);

        // S172
        await tick();
        active = await tasks();
        status = await jobs();
        expect(active.map((task) => task.definition.action).sort()).toEqual([
          "generate_dataset",
          "generate_dataset_with_dummy_data",
        ]);
        expect(status.generate_dataset).toMatchObject({ status: "running", status_code: "executing" });
        expect(status.generate_dataset_with_dummy_data).toMatchObject({
          status: "running",
          status_code: "initiated",
        });
        expect(status.test_cancellation_ehrql).toMatchObject({
          status: "failed",
          status_message: StatusMessage.CancelledByUser,
        });

        // S173
        await ws.agentUntilIdle();
        await tick();
        status = await jobs();
        expect(status.generate_dataset.status).toBe("succeeded");
        expect(status.generate_dataset_with_dummy_data.status).toBe("succeeded");
        active = await tasks();
        expect(active.map((task) => task.definition.action).sort()).toEqual([
          "prepare_data_f_ehrql",
          "prepare_data_m_ehrql",
          "prepare_data_with_quote_in_filename_ehrql",
        ]);
        for (const task of active) expect(status[task.definition.action].status).toBe("running");
        expect(status.analyse_data_ehrql.status).toBe("pending");
        expect(status.test_cancellation_ehrql.status).toBe("failed");

        // S174
        await ws.agentUntilIdle();
        await tick();
        status = await jobs();
        for (const action of [
          "prepare_data_m_ehrql",
          "prepare_data_f_ehrql",
          "prepare_data_with_quote_in_filename_ehrql",
        ]) {
          expect(status[action].status, action).toBe("succeeded");
        }
        expect(status.analyse_data_ehrql.status).toBe("running");
        expect(await tasks()).toHaveLength(1);

        // S175
        await ws.agentUntilIdle();
        await tick();
        expect(await tasks()).toEqual([]);
        status = await jobs();
        for (const [action, job] of Object.entries(status)) {
          expect(job.status, action).toBe(action === "test_cancellation_ehrql" ? "failed" : "succeeded");
        }
        const high = join(ws.highPrivacy, "workspaces", "testing");
        const medium = join(ws.mediumPrivacy, "workspaces", "testing");
        for (const file of [
          "output/dataset.csv",
          "output/extra/dataset.csv",
          "ehrql-male.csv",
          "ehrql-female.csv",
          "ehrql-qu'ote.csv",
        ]) {
          expect(existsSync(join(high, file)), file).toBe(true);
        }
        expect(existsSync(join(high, "ehrql-somefile.csv"))).toBe(false);
        expect(await readFile(join(medium, "ehrql-counts.txt"), "utf8")).toBe(
          "ehrql-male.csv: 50\nehrql-female.csv: 50\nehrql-qu'ote.csv: 50\n",
        );
        const manifest = JSON.parse(await readFile(join(medium, "metadata/manifest.json"), "utf8"));
        expect(manifest).toMatchObject({ workspace: "testing", repo: null });
      });
    },
  );
}
