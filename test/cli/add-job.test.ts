/**
 * `rap add-job` as a developer runs it (the built `rap`): a RAP from a local repository, on the run's database
 * (SQLite in WORKDIR, or PostgreSQL in the `postgres` project); the same actions again are nothing to do.
 */
import { afterEach, expect, test } from "vitest";
import { FX_ACT } from "../jobs/fixtures.js";
import { runCli } from "../support/cli.js";
import { testDatabaseEnv } from "../support/db.js";
import { createStudyRepo, createTempDir, removeDir } from "../support/git-fixtures.js";

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

test("rap add-job creates the RAP's jobs, which rap jobs lists; asked again, it has nothing to do", async () => {
  const repo = await createStudyRepo({ files: { "project.yaml": FX_ACT } });
  const workdir = await createTempDir("rap-add-job-");
  cleanups.push(() => removeDir(workdir));
  const database = await testDatabaseEnv();
  cleanups.push(() => database.drop());
  const env = { ...database.env, WORKDIR: workdir, BACKENDS: "test" };
  expect((await runCli(["migrate"], env)).code).toBe(0);

  const first = await runCli(["add-job", repo.path, "action1", "--backend", "test"], env);
  expect(first).toMatchObject({ code: 0, stderr: "" });
  expect(first.stdout).toContain(`"commit": "${repo.commits[0]}"`);
  expect(first.stdout).toMatch(/\nCreated 1 new jobs:\n {2}[a-z0-9]{16} action1: /);

  const again = await runCli(["add-job", repo.path, "action1", "--backend", "test"], env);
  expect(again).toMatchObject({ code: 0, stderr: "" });
  expect(again.stdout).toContain("\nNothing to do: All requested actions were already scheduled to run\n");

  const jobs = JSON.parse((await runCli(["jobs", "--json"], env)).stdout) as {
    action: string;
    status: string;
  }[];
  expect(jobs.map((job) => [job.action, job.status])).toEqual([["action1", "pending"]]);
});
