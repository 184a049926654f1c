/**
 * Jobs of one workspace finish side by side (the agent handles its tasks concurrently): each adds its outputs to the
 * workspace's manifest, a read, an update and a write of one file. None may lose another's entries.
 */
import { afterEach, beforeEach, expect, test } from "vitest";
import { manifestPath } from "../../src/agent/workspace/paths.js";
import { type AgentFixture, agentFixture, writes } from "./support.js";

let f: AgentFixture;
beforeEach(async () => {
  f = await agentFixture();
});
afterEach(() => f.cleanup());

test("jobs of one workspace finalized at once each keep their outputs in the manifest", async () => {
  const jobs = Array.from({ length: 8 }, (_, i) =>
    f.job({ action: `step_${i}`, output_spec: { [`output/step_${i}.csv`]: "moderately_sensitive" } }),
  );
  f.runtime.program = (spec) => {
    const i = jobs.findIndex((job) => spec.name === `os-job-${job.id}`);
    return writes({ [`output/step_${i}.csv`]: `a,b\n${i},${i}\n` });
  };
  const ex = f.executor();
  for (const job of jobs) {
    await ex.prepare(job);
    await ex.execute(job);
    await f.runtime.finished(`os-job-${job.id}`);
  }
  await Promise.all(jobs.map((job) => ex.finalize(job)));

  const manifest = JSON.parse(await f.read(manifestPath(f.layout, jobs[0]!.workspace)));
  expect(Object.keys(manifest.outputs).sort()).toEqual(jobs.map((_, i) => `output/step_${i}.csv`).sort());
  for (const [i, job] of jobs.entries())
    expect(manifest.outputs[`output/step_${i}.csv`]).toMatchObject({ job_id: job.id, action: `step_${i}` });
});
