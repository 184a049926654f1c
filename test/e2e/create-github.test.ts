/**
 * POST rap/create/ for GitHub repositories and reusable actions (S074, S075, S090, S091). GitHub cannot be reached
 * from here: GITHUB_PROXY_DOMAIN points at a local git server serving `<org>/<repo>` bare repositories, which is the
 * same route the controller takes to GitHub through its proxy.
 */
import { join } from "node:path";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  commitFiles,
  createStudyRepo,
  createTempDir,
  type FileChanges,
  type GitServer,
  git,
  removeDir,
  startGitServer,
  tag,
} from "../support/git-fixtures.js";
import { body, type CreateApi, newRapId, startCreateApi } from "./support.js";

const STUDY = "https://github.com/opensafely/study";
const ACTIONS = "https://github.com/opensafely-actions";

let root: string;
let server: GitServer;
let api: CreateApi;
let mainCommit: string;
let featureCommit: string;

const studyProject = `version: "4.0"
actions:
  generate_dataset:
    run: ehrql:v1 generate-dataset analysis/dataset_definition.py --output output/dataset.csv.gz
    outputs: {highly_sensitive: {dataset: output/dataset.csv.gz}}
  chart:
    run: deciles-charts:v1 --output-format=png output/dataset.csv.gz
    needs: [generate_dataset]
    outputs: {moderately_sensitive: {chart: output/chart.png}}
  chart_again:
    run: deciles-charts:v1 --output-format=svg
    outputs: {moderately_sensitive: {chart: output/chart.svg}}
  unapproved:
    run: deciles-charts:v2
    outputs: {moderately_sensitive: {chart: output/beta.png}}
  missing_tag:
    run: deciles-charts:v9
    outputs: {moderately_sensitive: {chart: output/v9.png}}
  no_such_action:
    run: not-an-action:v1
    outputs: {moderately_sensitive: {chart: output/none.png}}
  bad_characters:
    run: ../my-bad-org/reusable-action:v1
    outputs: {moderately_sensitive: {chart: output/bad.png}}
  broken_yaml:
    run: broken-action:v1
    outputs: {moderately_sensitive: {x: output/broken.png}}
  no_run:
    run: norun-action:v1
    outputs: {moderately_sensitive: {x: output/norun.png}}
  db_action:
    run: db-action:v1
    outputs: {moderately_sensitive: {x: output/db.png}}
  odd_runtime:
    run: odd-runtime:v1
    outputs: {moderately_sensitive: {x: output/odd.png}}
  no_action_yaml:
    run: empty-action:v1
    outputs: {moderately_sensitive: {x: output/empty.png}}
`;

/** A fake opensafely-actions repository with action.yaml on main, tagged. */
async function actionRepo(name: string, actionYaml: string | null, tagName = "v1"): Promise<string> {
  const files: FileChanges =
    actionYaml === null ? { "README.md": "no action here" } : { "action.yaml": actionYaml };
  const repo = await createStudyRepo({ path: join(root, "opensafely-actions", name), files });
  await tag(repo.path, tagName, repo.commits[0]!, { message: "release" });
  return repo.path;
}

beforeAll(async () => {
  root = await createTempDir("rap-github-");
  server = await startGitServer(root);
  const study = await createStudyRepo({
    path: join(root, "opensafely", "study"),
    files: { "project.yaml": studyProject },
  });
  mainCommit = study.commits[0]!;
  featureCommit = await commitFiles(study.path, { "notes.txt": "wip" }, "feature work", {
    branch: "feature",
  });

  const deciles = await actionRepo("deciles-charts", "run: python:v2 deciles_charts/main.py\n", "v1");
  // v2: tagged on a branch that was never merged into main.
  const beta = await commitFiles(deciles, { "action.yaml": "run: python:v2 beta.py\n" }, "beta", {
    branch: "beta",
  });
  await tag(deciles, "v2", beta);
  await actionRepo("broken-action", "run: [unclosed\n");
  await actionRepo("norun-action", "description: no run key\n");
  await actionRepo("db-action", "run: ehrql:v1 generate-dataset analysis/dataset.py\n");
  await actionRepo("odd-runtime", "run: notanaction:v1 main.py\n");
  await actionRepo("empty-action", null);

  api = await startCreateApi({
    BACKENDS: "test",
    TEST_CLIENT_TOKENS: "test_token",
    GITHUB_PROXY_DOMAIN: server.url,
  });
});

afterAll(async () => {
  await api.close();
  await server.close();
  await removeDir(root);
});

const refused = (details: string) => ({ status: 400, json: { error: "Error creating jobs", details } });
const create = (overrides: Record<string, unknown>) =>
  api.post("/rap/create/", body(STUDY, mainCommit, overrides));
let workspaceCounter = 0;
const freshWorkspace = () => `gh-${++workspaceCounter}`;

describe("GitHub repositories (S074, S075)", () => {
  test("a commit on the branch of an allowed repository is fetched through the proxy", async () => {
    const rapId = newRapId();
    expect(
      await create({ rap_id: rapId, requested_actions: ["generate_dataset"], workspace: freshWorkspace() }),
    ).toMatchObject({
      status: 201,
      json: { result: "Success", count: 1 },
    });
    expect(server.requests.some((r) => r.includes("/opensafely/study/"))).toBe(true);
  });

  test.each([
    [
      "https://not-gihub.com/invalid",
      "Repository URL https://not-gihub.com/invalid does not start with https://github.com",
    ],
    [
      "https://github.com/someorg/repo",
      "Repository https://github.com/someorg/repo does not belong to one of the following Github organisations: opensafely opensafely-actions",
    ],
    [
      "https://github.com/opensafely/study/tree/main",
      "Repository https://github.com/opensafely/study/tree/main was not of the expected format: https://github.com/[organisation]/[project-name]",
    ],
  ])("S074: %s is refused", async (repoUrl, details) => {
    expect(await api.post("/rap/create/", body(repoUrl, mainCommit))).toMatchObject(refused(details));
  });

  test("S075: empty branch, unknown branch, commit not on the branch, unreachable repository", async () => {
    expect(await create({ branch: "" })).toMatchObject(refused("A branch name must be supplied"));
    expect(await create({ branch: "nope" })).toMatchObject(refused("Could not find branch 'nope'"));
    expect(await create({ branch: "refs/pull/1/head" })).toMatchObject(
      refused("Could not find branch 'refs/pull/1/head'"),
    );
    expect(await api.post("/rap/create/", body(STUDY, featureCommit))).toMatchObject(
      refused(`Could not find commit on branch 'main': ${featureCommit}`),
    );
    expect(
      await api.post("/rap/create/", body("https://github.com/opensafely/missing", mainCommit)),
    ).toMatchObject(refused("Could not read from https://github.com/opensafely/missing"));
  });
});

describe("reusable actions (S090, S091)", () => {
  test("the run command is rewritten to the action's runtime; one action used twice is fetched once", async () => {
    const rapId = newRapId();
    const workspace = freshWorkspace();
    const before = server.requests.filter((r) => r.includes("deciles-charts")).length;
    expect(
      await create({ rap_id: rapId, requested_actions: ["chart", "chart_again"], workspace }),
    ).toMatchObject({
      status: 201,
      json: { count: 3 },
    });
    const rows = await sql<{
      action: string;
      run_command: string;
      action_repo_url: string | null;
      action_commit: string | null;
    }>`
      select action, run_command, action_repo_url, action_commit from job where rap_id = ${rapId} order by action`.execute(
      api.db,
    );
    const deciles = join(root, "opensafely-actions", "deciles-charts");
    const tagged = (await git(deciles, ["rev-parse", "v1^{commit}"])).trim();
    expect(rows.rows).toEqual([
      {
        action: "chart",
        run_command: "python:v2 deciles_charts/main.py --output-format=png output/dataset.csv.gz",
        action_repo_url: `${ACTIONS}/deciles-charts`,
        action_commit: tagged,
      },
      {
        action: "chart_again",
        run_command: "python:v2 deciles_charts/main.py --output-format=svg",
        action_repo_url: `${ACTIONS}/deciles-charts`,
        action_commit: tagged,
      },
      {
        action: "generate_dataset",
        run_command:
          "ehrql:v1 generate-dataset analysis/dataset_definition.py --output output/dataset.csv.gz",
        action_repo_url: null,
        action_commit: null,
      },
    ]);
    // ls-remote is asked once for the tag, not once per job.
    const lsRemotes = server.requests
      .slice(before)
      .filter((r) => r.includes("deciles-charts") && r.includes("info/refs"));
    expect(lsRemotes.length).toBeLessThanOrEqual(3);
  });

  const invalid = (repo: string, kind: string, message: string) =>
    `invalid action, please open an issue on ${ACTIONS}/${repo}/issues\n\n  ${kind}: ${message}`;

  test.each([
    [
      "missing_tag",
      `in 'missing_tag: deciles-charts:v9' 'v9' is not a tag listed in ${ACTIONS}/deciles-charts/tags`,
    ],
    [
      "unapproved",
      "in 'unapproved: deciles-charts:v2' tag 'v2' has not yet been approved for use (not merged into main branch)",
    ],
    [
      "no_such_action",
      `in 'no_such_action: not-an-action:v1' could not find a repo at ${ACTIONS}/not-an-action\nCheck that 'not-an-action' is in the list of available actions at https://actions.opensafely.org`,
    ],
    [
      "bad_characters",
      "in 'bad_characters: ../my-bad-org/reusable-action:v1' '../my-bad-org/reusable-action' contains invalid characters",
    ],
    [
      "no_run",
      `in 'no_run: norun-action:v1' ${invalid("norun-action", "ReusableActionError", "Missing `run` key in 'action.yaml'")}`,
    ],
    [
      "db_action",
      `in 'db_action: db-action:v1' ${invalid("db-action", "ReusableActionError", "Re-usable actions cannot run commands which access the database")}`,
    ],
    [
      "odd_runtime",
      `in 'odd_runtime: odd-runtime:v1' ${invalid("odd-runtime", "ReusableActionError", "Unrecognised runtime: notanaction")}`,
    ],
    [
      "no_action_yaml",
      `in 'no_action_yaml: empty-action:v1' ${ACTIONS}/empty-action/tree/v1 doesn't look like a valid action (no 'action.yaml' file present)`,
    ],
  ])("S091: %s is refused with the reference's message, and nothing is created", async (action, details) => {
    const rapId = newRapId();
    expect(
      await create({ rap_id: rapId, requested_actions: [action], workspace: freshWorkspace() }),
    ).toMatchObject(refused(details));
    const count = await sql<{ n: number }>`select count(*) as n from job where rap_id = ${rapId}`.execute(
      api.db,
    );
    expect(count.rows[0]!.n).toBe(0);
  });

  test("S091: an action.yaml that is not valid YAML is reported as a YAMLError of the action", async () => {
    const answer = await create({ requested_actions: ["broken_yaml"], workspace: freshWorkspace() });
    expect(answer.status).toBe(400);
    expect((answer.json as { details: string }).details).toMatch(
      new RegExp(
        `^in 'broken_yaml: broken-action:v1' invalid action, please open an issue on ${ACTIONS}/broken-action/issues\\n\\n  YAMLError: `,
      ),
    );
  });

  test("a failing reusable action after a good one leaves no partial jobs", async () => {
    const rapId = newRapId();
    expect(
      (
        await create({
          rap_id: rapId,
          requested_actions: ["chart", "missing_tag"],
          workspace: freshWorkspace(),
        })
      ).status,
    ).toBe(400);
    const count = await sql<{ n: number }>`select count(*) as n from job where rap_id = ${rapId}`.execute(
      api.db,
    );
    expect(count.rows[0]!.n).toBe(0);
  });
});
