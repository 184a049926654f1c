/**
 * The whole-system suite with EXECUTOR=slurm: every job a Slurm batch job on the single-host test cluster
 * (scripts/start-test-slurm.sh), running the locally built test image through this machine's Docker engine. Then
 * what only a workload manager does: a job waiting in its queue while the agent restarts, or while it is cancelled.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createRap } from "../scheduler/support.js";
import { createStudyRepo, removeDir } from "../support/git-fixtures.js";
import { requires, slurmRequirement } from "../support/requirements.js";
import { holdSharedResource } from "../support/shared-resource.js";
import { startWholeSystem, type WholeSystem } from "../support/whole-system.js";
import { wholeSystemSuite } from "./system-suite.js";

// One file at a time on the cluster: another drains its node or fills it with 50 jobs (so its turn comes before the
// check that the node takes jobs).
await holdSharedResource("slurm-cluster");
const slurm = requires(await slurmRequirement());
wholeSystemSuite("slurm", slurm);

/** A job queued in Slurm (its node drained) while the agent restarts, or while it is cancelled. */
describe.skipIf(!slurm)("jobs queued in Slurm, over the whole system", { timeout: 120_000 }, () => {
  let ws: WholeSystem;
  let repo: { path: string; commit: string };
  const node = hostname().split(".")[0]!;
  const drain = () =>
    execFileSync("scontrol", ["update", `nodename=${node}`, "state=drain", "reason=rap-runner test"]);
  // Refused, harmlessly, when the node is not drained (any more).
  const resume = () => {
    try {
      execFileSync("scontrol", ["update", `nodename=${node}`, "state=resume"], { stdio: "ignore" });
    } catch {}
  };
  beforeAll(async () => {
    ws = await startWholeSystem({ runtime: "slurm" });
    const study = await createStudyRepo({
      files: {
        "project.yaml": [
          "version: '4.0'",
          "actions:",
          "  queued:",
          "    run: python:v2 analysis/queued.py",
          "    outputs:",
          "      moderately_sensitive:",
          "        out: output/queued.txt",
          "",
        ].join("\n"),
        "analysis/queued.py":
          "import os\nos.makedirs('output', exist_ok=True)\nopen('output/queued.txt', 'w').write('ran')\n",
      },
    });
    repo = { path: study.path, commit: study.commits[0]! };
  });
  afterAll(async () => {
    resume();
    await ws?.close();
    if (repo) await removeDir(repo.path);
  });

  test("a restarted agent picks up a job still queued in Slurm and finishes it", async () => {
    drain();
    const rapId = await createRap(ws.system, repo, ["queued"], { workspace: "queued-restart" });
    const first = ws.spawnAgent();
    const executing = await ws
      .until(rapId, (jobs) => jobs.queued.status_code === "executing")
      .catch((error) => {
        throw new Error(`${error.message}\nagent output:\n${first.output()}`);
      });
    const name = `os-job-${executing.queued.identifier}`;
    expect(await ws.runtime.inspect(name), first.output()).toMatchObject({
      metadata: { State: { Status: "queued" } },
    });
    await first.kill("SIGKILL");
    const second = ws.spawnAgent();
    resume();
    const jobs = await ws.untilFinal(rapId);
    await second.kill("SIGTERM");
    expect(jobs.queued, second.output()).toMatchObject({ status: "succeeded", status_code: "succeeded" });
    const output = join(ws.mediumPrivacy, "workspaces", "queued-restart", "output/queued.txt");
    expect(await readFile(output, "utf8")).toBe("ran");
  });

  test("a job cancelled while queued in Slurm is cancelled there and never runs", async () => {
    drain();
    const agent = ws.startAgent();
    try {
      const rapId = await createRap(ws.system, repo, ["queued"], { workspace: "queued-cancel" });
      const executing = await ws.until(rapId, (jobs) => jobs.queued.status_code === "executing");
      const cancel = await ws.system.post("/rap/cancel/", { rap_id: rapId, actions: ["queued"] });
      expect(cancel.status).toBe(200);
      const jobs = await ws.untilFinal(rapId);
      await ws.untilNoActiveTasks();
      expect(jobs.queued).toMatchObject({ status: "failed", status_code: "cancelled_by_user" });
      const name = `os-job-${executing.queued.identifier}`;
      expect(await ws.runtime.inspect(name)).toBeNull();
      const live = execFileSync("squeue", ["--noheader", `--name=${name}`, "--format=%T"], {
        encoding: "utf8",
      });
      expect(live.trim()).toBe("");
      expect(existsSync(join(ws.highPrivacy, "workspaces", "queued-cancel", "output/queued.txt"))).toBe(
        false,
      );
    } finally {
      resume();
      await agent.stop();
    }
  });
});
