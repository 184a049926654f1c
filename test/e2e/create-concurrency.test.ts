/**
 * Concurrent creates (DESIGN DECISIONS 8): requests racing for one workspace never make two active jobs for one
 * action, and one rap_id submitted twice at once creates its jobs once.
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { FX_TP } from "../jobs/fixtures.js";
import { createStudyRepo, type StudyRepo } from "../support/git-fixtures.js";
import { body, type CreateApi, newRapId, startCreateApi } from "./support.js";

let api: CreateApi;
let repo: StudyRepo;

beforeAll(async () => {
  api = await startCreateApi();
  repo = await createStudyRepo({ files: { "project.yaml": FX_TP } });
});
afterAll(async () => api.close());

async function activeJobsPerAction(workspace: string) {
  const rows = await sql<{ action: string; n: number }>`
    select action, count(*) as n from job where workspace = ${workspace} and state in ('pending', 'running')
    group by action order by action`.execute(api.db);
  return Object.fromEntries(rows.rows.map((r) => [r.action, r.n]));
}

describe("concurrent creates", () => {
  test("ten RAPs racing for the same workspace create each action exactly once", async () => {
    const workspace = "race";
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        api.post(
          "/rap/create/",
          body(repo.path, repo.commits[0]!, {
            rap_id: newRapId(),
            workspace,
            requested_actions: ["analyse_data"],
          }),
        ),
      ),
    );
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    for (const answer of answers.filter((a) => a.status === 200)) {
      expect(answer.json).toMatchObject({
        result: "Nothing to do",
        details: "All requested actions were already scheduled to run",
      });
    }
    expect(await activeJobsPerAction(workspace)).toEqual({
      analyse_data: 1,
      generate_dataset: 1,
      prepare_data_1: 1,
      prepare_data_2: 1,
    });
  });

  test("RAPs asking for overlapping actions share the jobs they both need", async () => {
    const workspace = "overlap";
    const requests = [["prepare_data_1"], ["prepare_data_2"], ["analyse_data"], ["generate_dataset"]];
    const answers = await Promise.all(
      requests.map((actions) =>
        api.post(
          "/rap/create/",
          body(repo.path, repo.commits[0]!, { rap_id: newRapId(), workspace, requested_actions: actions }),
        ),
      ),
    );
    const created = answers.reduce((sum, a) => sum + (a.json as { count: number }).count, 0);
    expect(created).toBe(4);
    expect(await activeJobsPerAction(workspace)).toEqual({
      analyse_data: 1,
      generate_dataset: 1,
      prepare_data_1: 1,
      prepare_data_2: 1,
    });
  });

  test("the same rap_id submitted five times at once creates its jobs once", async () => {
    const rapId = newRapId();
    const request = body(repo.path, repo.commits[0]!, {
      rap_id: rapId,
      workspace: "twice",
      requested_actions: ["analyse_data"],
    });
    const answers = await Promise.all(Array.from({ length: 5 }, () => api.post("/rap/create/", request)));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 201]);
    for (const answer of answers) expect((answer.json as { count: number }).count).toBe(4);
    const count = await sql<{ n: number }>`select count(*) as n from job where rap_id = ${rapId}`.execute(
      api.db,
    );
    expect(count.rows[0]!.n).toBe(4);
  });
});
