/**
 * POST rap/create/ end to end against local git repositories (scenarios.md group C). States that the scheduler
 * and agent would produce (succeeded, failed) are written straight into the database: they come in a later issue.
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { deterministicJobId } from "../../src/domain/ids.js";
import { FX_GIT, FX_TP, FX_TP_S } from "../jobs/fixtures.js";
import { commitFiles, createStudyRepo, type StudyRepo } from "../support/git-fixtures.js";
import { body, type CreateApi, newRapId, startCreateApi } from "./support.js";

let api: CreateApi;
let git: StudyRepo;
let tp: StudyRepo;
let C_MASTER: string;
let C_TP: string;

beforeAll(async () => {
  api = await startCreateApi();
  git = await createStudyRepo({ files: { "project.yaml": FX_GIT } });
  C_MASTER = git.commits[0]!;
  tp = await createStudyRepo({ files: { "project.yaml": FX_TP_S } });
  C_TP = tp.commits[0]!;
});
afterAll(async () => api.close());

/** A fresh workspace name, so scenarios do not see each other's jobs. */
let workspaceCounter = 0;
const freshWorkspace = () => `ws-${++workspaceCounter}`;

const create = (repo: string, commit: string, overrides: Record<string, unknown>) =>
  api.post("/rap/create/", body(repo, commit, overrides));

async function status(rapId: string) {
  return (await api.post("/rap/status/", { rap_ids: [rapId] })).json as {
    jobs: Array<Record<string, unknown>>;
    unrecognised_rap_ids: string[];
  };
}

/** What the scheduler and agent will do later: finish a RAP's job for an action in the given state. */
async function finish(rapId: string, action: string, state: "succeeded" | "failed") {
  const code = state === "succeeded" ? "succeeded" : "nonzero_exit";
  await sql`update job set state = ${state}, status_code = ${code}, completed_at = 1 where rap_id = ${rapId} and action = ${action}`.execute(
    api.db,
  );
}

const success = (rapId: string, count: number) => ({
  status: 201,
  json: { result: "Success", details: `Jobs created for rap_id '${rapId}'`, rap_id: rapId, count },
});
const refused = (details: string) => ({ status: 400, json: { error: "Error creating jobs", details } });
const nothingToDo = (rapId: string, details: string) => ({
  status: 200,
  json: { result: "Nothing to do", details, rap_id: rapId, count: 0 },
});

describe("creating jobs (S031–S034)", () => {
  test("S031: one action; status shows the new pending job", async () => {
    const rapId = newRapId();
    const answer = await create(git.path, C_MASTER, {
      rap_id: rapId,
      branch: "v1",
      requested_actions: ["generate_dataset"],
    });
    expect(answer).toMatchObject(success(rapId, 1));
    const { jobs, unrecognised_rap_ids } = await status(rapId);
    expect(unrecognised_rap_ids).toEqual([]);
    expect(jobs).toHaveLength(1);
    const [job] = jobs;
    expect(job).toMatchObject({
      identifier: deterministicJobId(rapId, "generate_dataset"),
      rap_id: rapId,
      backend: "test",
      action: "generate_dataset",
      run_command: "ehrql:v1 generate-dataset analysis/dataset_definition.py --output output/dataset.csv.gz",
      status: "pending",
      status_code: "created",
      status_message: "Created",
      started_at: null,
      completed_at: null,
      metrics: {},
      requires_db: true,
    });
    expect(job!.created_at).toBe(job!.updated_at);
    expect(job!.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect((job!.trace_context as { traceparent: string }).traceparent).toMatch(
      /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/,
    );
  });

  test("S032: analysis_scope is stored for database jobs, sorted; non-database jobs store {}", async () => {
    const rapId = newRapId();
    const scope = {
      dataset_permissions: ["appointments", "icnarc"].reverse(),
      population_permissions: ["include_ndoo"],
    };
    const answer = await create(git.path, C_MASTER, {
      rap_id: rapId,
      requested_actions: ["run_model"],
      analysis_scope: scope,
      workspace: freshWorkspace(),
    });
    expect(answer).toMatchObject(success(rapId, 2));
    const rows = await sql<{
      action: string;
      analysis_scope: string;
    }>`select action, analysis_scope from job where rap_id = ${rapId} order by action`.execute(api.db);
    expect(rows.rows).toEqual([
      {
        action: "generate_dataset",
        analysis_scope: JSON.stringify({
          dataset_permissions: ["appointments", "icnarc"],
          population_permissions: ["include_ndoo"],
        }),
      },
      { action: "run_model", analysis_scope: "{}" },
    ]);
  });

  test("S033: dependencies are pulled in", async () => {
    const rapId = newRapId();
    expect(
      await create(git.path, C_MASTER, {
        rap_id: rapId,
        requested_actions: ["run_model"],
        workspace: freshWorkspace(),
      }),
    ).toMatchObject(success(rapId, 2));
    const jobs = (await status(rapId)).jobs;
    const byAction = Object.fromEntries(jobs.map((j) => [j.action, j]));
    expect(byAction.generate_dataset).toMatchObject({
      requires_db: true,
      status: "pending",
      status_code: "created",
    });
    expect(byAction.run_model).toMatchObject({
      requires_db: false,
      run_command: "stata-mp:v1 analysis/model.do",
    });
  });

  test("S034: run_all on a fresh workspace", async () => {
    const rapId = newRapId();
    expect(
      await create(git.path, C_MASTER, {
        rap_id: rapId,
        requested_actions: ["run_all"],
        workspace: freshWorkspace(),
      }),
    ).toMatchObject(success(rapId, 2));
  });
});

describe("refusals (S061, S070, S072, S076–S078)", () => {
  test("S061: a workspace that passes the schema but has other characters", async () => {
    expect(
      await create(git.path, C_MASTER, { workspace: "a$b", requested_actions: ["generate_dataset"] }),
    ).toMatchObject(refused("Invalid workspace name (allowed are alphanumeric, dash and underscore)"));
  });

  test("S070: a commit the repository does not have", async () => {
    const commit = "0".repeat(40);
    expect(await create(git.path, commit, { requested_actions: ["generate_dataset"] })).toMatchObject(
      refused(`Error fetching commit ${commit} from ${git.path}`),
    );
  });

  test("S072: an unknown action", async () => {
    expect(await create(git.path, C_MASTER, { requested_actions: ["does_not_exist"] })).toMatchObject(
      refused("Action 'does_not_exist' not found in project.yaml"),
    );
  });

  test("S076: no project.yaml at that commit", async () => {
    const repo = await createStudyRepo({ files: { "README.md": "nothing here" } });
    expect(await create(repo.path, repo.commits[0]!, {})).toMatchObject(
      refused(`No project.yaml file found in ${repo.path}`),
    );
  });

  test("S077: project.yaml without version, or without actions", async () => {
    const repo = await createStudyRepo({ files: { "project.yaml": "actions: {}\n" } });
    expect(await create(repo.path, repo.commits[0]!, {})).toMatchObject(
      refused(
        "Invalid project: \nProject file must have a `version` attribute specifying which version of the project configuration format it uses (current latest version is 5)",
      ),
    );
    const noActions = await commitFiles(repo.path, { "project.yaml": 'version: "4.0"\n' }, "no actions");
    expect(await create(repo.path, noActions, {})).toMatchObject(
      refused("Invalid project: \nProject `actions` section must be a dictionary of key/value pairs"),
    );
  });

  test("S078 differs deliberately: a version above 5 is a clear validation error, not 'Unknown error'", async () => {
    const repo = await createStudyRepo({ files: { "project.yaml": "version: 6\nactions: {}\n" } });
    expect(await create(repo.path, repo.commits[0]!, {})).toMatchObject(
      refused("Invalid project: \nThe latest version is v5, but got v6.0"),
    );
  });

  test("S074 last row: a local path is refused unless ALLOW_LOCAL_GIT_REPOS is true", async () => {
    const strict = await startCreateApi({ BACKENDS: "test", TEST_CLIENT_TOKENS: "test_token" });
    try {
      expect(await strict.post("/rap/create/", body("/abs/local/path", C_MASTER))).toMatchObject(
        refused("Repository URL /abs/local/path does not start with https://github.com"),
      );
    } finally {
      await strict.close();
    }
  });
});

describe("stale codelists (S073)", () => {
  test.each([
    ["generate_dataset", "Codelists are out of date (required by action generate_dataset)"],
    ["analyse_data", "Codelists are out of date (required by action generate_dataset)"],
  ])("requesting %s with codelists_ok=false is refused and creates nothing", async (action, details) => {
    const rapId = newRapId();
    expect(
      await create(tp.path, C_TP, {
        rap_id: rapId,
        requested_actions: [action],
        codelists_ok: false,
        workspace: freshWorkspace(),
      }),
    ).toMatchObject(refused(details));
    expect((await status(rapId)).unrecognised_rap_ids).toEqual([rapId]);
  });

  test("a standalone non-database action is created", async () => {
    const rapId = newRapId();
    expect(
      await create(tp.path, C_TP, {
        rap_id: rapId,
        requested_actions: ["standalone_action"],
        codelists_ok: false,
        workspace: freshWorkspace(),
      }),
    ).toMatchObject(success(rapId, 1));
  });
});

describe("resolving against the workspace (S066–S069, S079–S088)", () => {
  test("S079: a chain of dependencies is created, each waiting on what it needs", async () => {
    const rapId = newRapId();
    expect(
      await create(tp.path, C_TP, {
        rap_id: rapId,
        requested_actions: ["analyse_data"],
        workspace: freshWorkspace(),
      }),
    ).toMatchObject(success(rapId, 4));
    const rows = await sql<{
      action: string;
      wait_for_job_ids: string;
    }>`select action, wait_for_job_ids from job where rap_id = ${rapId}`.execute(api.db);
    const waits = Object.fromEntries(rows.rows.map((r) => [r.action, JSON.parse(r.wait_for_job_ids)]));
    const id = (action: string) => deterministicJobId(rapId, action);
    expect(waits).toEqual({
      generate_dataset: [],
      prepare_data_1: [id("generate_dataset")],
      prepare_data_2: [id("generate_dataset")],
      analyse_data: [id("prepare_data_1"), id("prepare_data_2")],
    });
  });

  test("S080 + S087: active jobs of other RAPs are reused; asking again for a pending action is nothing to do", async () => {
    const workspace = freshWorkspace();
    const first = newRapId();
    expect(
      await create(tp.path, C_TP, { rap_id: first, requested_actions: ["prepare_data_1"], workspace }),
    ).toMatchObject(success(first, 2));
    const second = newRapId();
    expect(
      await create(tp.path, C_TP, { rap_id: second, requested_actions: ["analyse_data"], workspace }),
    ).toMatchObject(success(second, 2));
    const rows = await sql<{
      action: string;
      wait_for_job_ids: string;
    }>`select action, wait_for_job_ids from job where rap_id = ${second} order by action`.execute(api.db);
    expect(rows.rows.map((r) => [r.action, JSON.parse(r.wait_for_job_ids)])).toEqual([
      [
        "analyse_data",
        [deterministicJobId(first, "prepare_data_1"), deterministicJobId(second, "prepare_data_2")],
      ],
      ["prepare_data_2", [deterministicJobId(first, "generate_dataset")]],
    ]);
    const third = newRapId();
    expect(
      await create(tp.path, C_TP, { rap_id: third, requested_actions: ["analyse_data"], workspace }),
    ).toMatchObject(nothingToDo(third, "All requested actions were already scheduled to run"));
  });

  test("S066: all requested actions already scheduled by another RAP; no jobs for the new rap_id", async () => {
    const workspace = freshWorkspace();
    const a = newRapId();
    await create(git.path, C_MASTER, { rap_id: a, requested_actions: ["generate_dataset"], workspace });
    const b = newRapId();
    expect(
      await create(git.path, C_MASTER, { rap_id: b, requested_actions: ["generate_dataset"], workspace }),
    ).toMatchObject(nothingToDo(b, "All requested actions were already scheduled to run"));
    expect(await status(b)).toEqual({ jobs: [], unrecognised_rap_ids: [b] });
  });

  test("S067 + S068 + S069: run_all against succeeded, pending and failed actions", async () => {
    const workspace = freshWorkspace();
    const a = newRapId();
    expect(
      await create(git.path, C_MASTER, { rap_id: a, requested_actions: ["run_all"], workspace }),
    ).toMatchObject(success(a, 2));
    const pending = newRapId();
    expect(
      await create(git.path, C_MASTER, { rap_id: pending, requested_actions: ["run_all"], workspace }),
    ).toMatchObject(nothingToDo(pending, "All actions have already completed successfully"));
    await finish(a, "generate_dataset", "succeeded");
    await finish(a, "run_model", "succeeded");
    const done = newRapId();
    expect(
      await create(git.path, C_MASTER, { rap_id: done, requested_actions: ["run_all"], workspace }),
    ).toMatchObject(nothingToDo(done, "All actions have already completed successfully"));
    await finish(a, "run_model", "failed");
    const rerun = newRapId();
    expect(
      await create(git.path, C_MASTER, { rap_id: rerun, requested_actions: ["run_all"], workspace }),
    ).toMatchObject(success(rerun, 1));
    expect((await status(rerun)).jobs.map((j) => j.action)).toEqual(["run_model"]);
  });

  test("S082: succeeded dependencies are not rerun and not waited on", async () => {
    const workspace = freshWorkspace();
    const first = newRapId();
    await create(tp.path, C_TP, { rap_id: first, requested_actions: ["prepare_data_1"], workspace });
    await finish(first, "generate_dataset", "succeeded");
    const second = newRapId();
    expect(
      await create(tp.path, C_TP, { rap_id: second, requested_actions: ["analyse_data"], workspace }),
    ).toMatchObject(success(second, 2));
    const rows = await sql<{
      wait_for_job_ids: string;
    }>`select wait_for_job_ids from job where rap_id = ${second} and action = 'prepare_data_2'`.execute(
      api.db,
    );
    expect(JSON.parse(rows.rows[0]!.wait_for_job_ids)).toEqual([]);
  });

  test("S083: cancelled jobs are ignored: a new job replaces the cancelled dependency", async () => {
    const workspace = freshWorkspace();
    const first = newRapId();
    await create(tp.path, C_TP, { rap_id: first, requested_actions: ["generate_dataset"], workspace });
    expect((await api.post("/rap/cancel/", { rap_id: first, actions: ["generate_dataset"] })).status).toBe(
      200,
    );
    const second = newRapId();
    expect(
      await create(tp.path, C_TP, { rap_id: second, requested_actions: ["prepare_data_1"], workspace }),
    ).toMatchObject(success(second, 2));
    const rows = await sql<{
      wait_for_job_ids: string;
    }>`select wait_for_job_ids from job where rap_id = ${second} and action = 'prepare_data_1'`.execute(
      api.db,
    );
    expect(JSON.parse(rows.rows[0]!.wait_for_job_ids)).toEqual([
      deterministicJobId(second, "generate_dataset"),
    ]);
  });

  test.each([
    ["S084: a requested succeeded action is rerun, not its succeeded dependency", {}, "succeeded", 1],
    [
      "S085: force_run_dependencies reruns the dependency too",
      { force_run_dependencies: true },
      "succeeded",
      2,
    ],
    ["S086: a failed dependency is rerun", {}, "failed", 2],
  ] as const)("%s", async (_name, overrides, dependencyState, count) => {
    const workspace = freshWorkspace();
    const first = newRapId();
    await create(tp.path, C_TP, { rap_id: first, requested_actions: ["prepare_data_1"], workspace });
    await finish(first, "generate_dataset", dependencyState);
    await finish(first, "prepare_data_1", "succeeded");
    const second = newRapId();
    expect(
      await create(tp.path, C_TP, {
        rap_id: second,
        requested_actions: ["prepare_data_1"],
        workspace,
        ...overrides,
      }),
    ).toMatchObject(success(second, count));
  });

  test("S088: run_all ignores failed actions that have been removed from project.yaml", async () => {
    const workspace = freshWorkspace();
    const repo = await createStudyRepo({
      files: {
        "project.yaml": `${FX_TP}  obsolete_action:\n    run: python:latest -c pass\n    outputs: {moderately_sensitive: {path: path.csv}}\n`,
      },
    });
    const obsolete = newRapId();
    await create(repo.path, repo.commits[0]!, {
      rap_id: obsolete,
      requested_actions: ["obsolete_action"],
      workspace,
    });
    await finish(obsolete, "obsolete_action", "failed");
    const commit2 = await commitFiles(repo.path, { "project.yaml": FX_TP }, "remove obsolete_action");
    const all = newRapId();
    const actions = ["generate_dataset", "prepare_data_1", "prepare_data_2", "analyse_data"];
    expect(
      await create(repo.path, commit2, { rap_id: all, requested_actions: actions, workspace }),
    ).toMatchObject(success(all, 4));
    for (const action of actions) await finish(all, action, "succeeded");
    const runAll = newRapId();
    expect(
      await create(repo.path, commit2, { rap_id: runAll, requested_actions: ["run_all"], workspace }),
    ).toMatchObject(nothingToDo(runAll, "All actions have already completed successfully"));
  });
});

describe("an existing rap_id (S063–S065)", () => {
  test("re-POST answers No change with the existing count, whatever the actions or branch", async () => {
    const rapId = newRapId();
    const workspace = freshWorkspace();
    await create(tp.path, C_TP, { rap_id: rapId, requested_actions: ["prepare_data_1"], workspace });
    const again = await create(tp.path, C_TP, {
      rap_id: rapId,
      requested_actions: ["analyse_data"],
      branch: "other",
      workspace,
    });
    expect(again).toMatchObject({
      status: 200,
      json: {
        result: "No change",
        details: `Jobs already created for rap_id '${rapId}'`,
        rap_id: rapId,
        count: 2,
      },
    });
    expect(await create(tp.path, C_TP, { rap_id: rapId, workspace: "another_workspace" })).toMatchObject({
      status: 400,
      json: {
        error: "Inconsistent request data",
        details: `Jobs already created for rap_id '${rapId}' are inconsistent with request data`,
      },
    });
  });
});

describe("run commands (S089, S090)", () => {
  test("quotes and config are rendered like shlex.join and json.dumps", async () => {
    const repo = await createStudyRepo({
      files: {
        "project.yaml": `version: "4.0"
actions:
  prepare_with_quote:
    run: python:v2 analysis/filter_by_sex.py F output/dataset.csv "ehrql-qu'ote.csv"
    outputs: {highly_sensitive: {data: "ehrql-qu'ote.csv"}}
  analyse_data_ehrql:
    run: python:v2 analysis/count_lines.py ehrql-counts.txt
    config:
      files: [ehrql-male.csv, ehrql-female.csv, "ehrql-qu'ote.csv"]
    outputs: {moderately_sensitive: {counts: ehrql-counts.txt}}
  copy_highly_sensitive_data:
    run: python:v2 -c 'import shutil; shutil.copyfile("output/dataset.csv", "output/data.csv")'
    outputs: {highly_sensitive: {data: output/data.csv}}
`,
      },
    });
    const rapId = "12345678abcdefgh";
    expect(
      await create(repo.path, repo.commits[0]!, {
        rap_id: rapId,
        requested_actions: ["run_all"],
        workspace: freshWorkspace(),
      }),
    ).toMatchObject(success(rapId, 3));
    const byAction = Object.fromEntries((await status(rapId)).jobs.map((j) => [j.action, j]));
    expect(byAction.prepare_with_quote!.run_command).toBe(
      `python:v2 analysis/filter_by_sex.py F output/dataset.csv 'ehrql-qu'"'"'ote.csv'`,
    );
    expect(byAction.analyse_data_ehrql!.run_command).toBe(
      `python:v2 analysis/count_lines.py ehrql-counts.txt --config '{"files": ["ehrql-male.csv", "ehrql-female.csv", "ehrql-qu\\u0027ote.csv"]}'`,
    );
    expect(byAction.analyse_data_ehrql!.identifier).toBe("xa4o2pg2ysltlodk");
    expect(byAction.copy_highly_sensitive_data!.run_command).toBe(
      `python:v2 -c 'import shutil; shutil.copyfile("output/dataset.csv", "output/data.csv")'`,
    );
  });
});

describe("backends are separate (S081)", () => {
  test("S081: another backend's active jobs in a workspace of the same name are neither reused nor waited on", async () => {
    const both = await startCreateApi({
      BACKENDS: "foo,bar",
      FOO_CLIENT_TOKENS: "test_token",
      BAR_CLIENT_TOKENS: "test_token",
      ALLOW_LOCAL_GIT_REPOS: "true",
    });
    try {
      const request = (backend: string) => {
        const rapId = newRapId();
        const overrides = {
          rap_id: rapId,
          backend,
          requested_actions: ["analyse_data"],
          workspace: "shared",
        };
        return { rapId, answer: both.post("/rap/create/", body(tp.path, C_TP, overrides)) };
      };
      const onFoo = request("foo");
      expect(await onFoo.answer).toMatchObject(success(onFoo.rapId, 4));
      const onBar = request("bar");
      expect(await onBar.answer).toMatchObject(success(onBar.rapId, 4));

      const waits = await sql<{ wait_for_job_ids: string }>`select wait_for_job_ids from job
        where rap_id = ${onBar.rapId}`.execute(both.db);
      const barJobIds = new Set(
        ["generate_dataset", "prepare_data_1", "prepare_data_2", "analyse_data"].map((action) =>
          deterministicJobId(onBar.rapId, action),
        ),
      );
      for (const row of waits.rows) {
        for (const id of JSON.parse(row.wait_for_job_ids) as string[]) expect(barJobIds).toContain(id);
      }
    } finally {
      await both.close();
    }
  });
});
