/** `rap serve` with EXECUTOR=slurm says which executor runs the jobs, and warns about root as Docker's does. */
import { afterAll, expect, test } from "vitest";
import { createTempDir, removeDir } from "../support/git-fixtures.js";
import { freePort } from "../support/ports.js";
import { requires, slurmRequirement } from "../support/requirements.js";
import { holdSharedResource } from "../support/shared-resource.js";
import { type Running, startRap } from "./serve-support.js";

// Its turn on the cluster, whose node another file drains (test/support/shared-resource.ts).
await holdSharedResource("slurm-cluster");
const slurm = requires(await slurmRequirement());
const dirs: string[] = [];
const running: Running[] = [];

afterAll(async () => {
  for (const process of running) process.signal("SIGKILL");
  for (const dir of dirs) await removeDir(dir);
});

test.skipIf(!slurm)("names the Slurm executor at start-up", { timeout: 120_000 }, async () => {
  const dir = await createTempDir("rap-serve-slurm-");
  dirs.push(dir);
  const server = startRap(["serve"], {
    cwd: dir,
    env: { PORT: String(await freePort()), EXECUTOR: "slurm" },
  });
  running.push(server);
  await server.waitFor("agent started");
  const output = server.output();
  expect(output).toContain(
    "executor:  slurm (EXECUTOR=slurm: each job a Slurm batch job, its container run by a node's docker)",
  );
  if (process.getuid?.() === 0) expect(output).toContain("warning: the agent runs as root");
});
