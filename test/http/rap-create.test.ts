/**
 * Group C of reference/scenarios.md, view level: `POST rap/create/` validation (S035–S060), the backend check
 * (S062), an existing rap_id (S063–S065), and how the injected job-creation pipeline's outcomes are answered. The
 * pipeline itself is tested end to end in test/e2e/create-*.test.ts; here a stand-in checks how each of its outcomes
 * is answered.
 */
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, test } from "vitest";
import { insertJobs } from "../../src/db/queries/jobs.js";
import { GitError, GithubValidationError, GitUnknownRefError } from "../../src/git/errors.js";
import type { CreateJobs } from "../../src/http/app.js";
import {
  NothingToDoError,
  RapCreateRequestError,
  ReusableActionError,
  StaleCodelistError,
  UnknownActionError,
} from "../../src/jobs/errors.js";
import type { CreateRequest } from "../../src/jobs/request.js";
import { makeJob } from "../support/factories.js";
import { createBody, startApi, type TestApi } from "./support.js";

const X = "abcdefgh23456789";
const golden: { label: string; schema: string; body: string; details: string | null }[] = JSON.parse(
  readFileSync(new URL("./fixtures/validation-cases.json", import.meta.url), "utf8"),
).cases;

let api: TestApi;
afterEach(async () => {
  await api?.close();
});

/** An error with a stable code that is not a refusal: an internal fault, whatever its code says. */
class PipelineError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function pipeline(outcome: Awaited<ReturnType<CreateJobs>> | Error) {
  const requests: CreateRequest[] = [];
  const createJobs: CreateJobs = async (request) => {
    requests.push(request);
    if (outcome instanceof Error) throw outcome;
    return outcome;
  };
  return { createJobs, requests };
}

describe("validation (S035–S060)", () => {
  const rows = golden.filter((c) => c.schema === "createRequestBody" && c.details !== null);
  test.each(rows)("$label", async ({ body, details }) => {
    api = await startApi();
    expect(await api.post("/rap/create/", body)).toMatchObject({
      status: 400,
      json: { error: "Validation error", details },
    });
  });

  test("S055 differs (DESIGN DECISIONS 2): analysis_scope null is accepted and means {}", async () => {
    const stub = pipeline({ kind: "created", count: 1 });
    api = await startApi(undefined, { createJobs: stub.createJobs });
    expect((await api.post("/rap/create/", createBody({ analysis_scope: null }))).status).toBe(201);
    expect(stub.requests[0]!.analysisScope).toEqual({});
  });

  test("accepted edge inputs reach the pipeline: orgs [], no analysis_scope, extra keys, unanchored workspace", async () => {
    const stub = pipeline({ kind: "created", count: 1 });
    api = await startApi(undefined, { createJobs: stub.createJobs });
    const bodies = [
      createBody({ orgs: [] }),
      createBody({ analysis_scope: undefined }),
      createBody({ extra: 1, analysis_scope: { other: [1] } }),
      createBody({ workspace: "a$b" }),
    ];
    for (const [i, body] of bodies.entries()) {
      expect((await api.post("/rap/create/", { ...body, rap_id: `abcdefgh1234567${i}` })).status).toBe(201);
    }
    expect(stub.requests.map((r) => r.workspace)).toEqual(["workspace", "workspace", "workspace", "a$b"]);
  });
});

describe("view-level answers", () => {
  test("S062: a backend the token may not use → 400 naming the problem, and the pipeline is not run", async () => {
    // The reference answers "Unknown error" (deliberately different: docs/api.md). The words are the same for an
    // unknown backend and another token's, so the answer reveals nothing about backends the token may not see.
    const stub = pipeline({ kind: "created", count: 1 });
    api = await startApi(
      { BACKENDS: "test,foo", TEST_CLIENT_TOKENS: "test_token", FOO_CLIENT_TOKENS: "other" },
      { createJobs: stub.createJobs },
    );
    expect(await api.post("/rap/create/", createBody({ backend: "foo" }))).toMatchObject({
      status: 400,
      json: {
        error: "Error creating jobs",
        details: "Backend 'foo' is not one this token may use (it may use: test)",
      },
    });
    expect(await api.post("/rap/create/", createBody({ backend: "unknown" }))).toMatchObject({
      status: 400,
      json: {
        error: "Error creating jobs",
        details: "Backend 'unknown' is not one this token may use (it may use: test)",
      },
    });
    expect(stub.requests).toEqual([]);
  });

  test("S063: the same request again → 200 No change, with the number of existing jobs", async () => {
    const stub = pipeline({ kind: "created", count: 1 });
    api = await startApi(undefined, { createJobs: stub.createJobs });
    await insertJobs(api.db, [
      makeJob({
        rapId: X,
        action: "a1",
        repoUrl: "/repo",
        commit: "0123456789abcdef0123456789abcdef01234567",
      }),
    ]);
    await insertJobs(api.db, [
      makeJob({
        rapId: X,
        action: "a2",
        repoUrl: "/repo",
        commit: "0123456789abcdef0123456789abcdef01234567",
      }),
    ]);
    const answer = await api.post("/rap/create/", createBody());
    expect(answer).toMatchObject({
      status: 200,
      json: { result: "No change", details: `Jobs already created for rap_id '${X}'`, rap_id: X, count: 2 },
    });
    expect(Object.keys(answer.json as object)).toEqual(["result", "details", "rap_id", "count"]);
    expect(stub.requests).toEqual([]);
  });

  test("S064: different actions, branch or flags are still No change (only repo, workspace and commit count)", async () => {
    api = await startApi();
    await insertJobs(api.db, [
      makeJob({ rapId: X, repoUrl: "/repo", commit: "0123456789abcdef0123456789abcdef01234567" }),
    ]);
    const body = createBody({
      requested_actions: ["run_model"],
      branch: "other",
      codelists_ok: false,
      backend: "test",
    });
    expect(await api.post("/rap/create/", body)).toMatchObject({
      status: 200,
      json: { result: "No change", count: 1 },
    });
  });

  test("S065: the same rap_id with other data → 400 Inconsistent request data", async () => {
    api = await startApi();
    await insertJobs(api.db, [
      makeJob({ rapId: X, repoUrl: "/repo", commit: "0123456789abcdef0123456789abcdef01234567" }),
    ]);
    expect(
      await api.post(
        "/rap/create/",
        createBody({ workspace: "another_workspace", repo_url: "another_repo_url" }),
      ),
    ).toMatchObject({
      status: 400,
      json: {
        error: "Inconsistent request data",
        details: `Jobs already created for rap_id '${X}' are inconsistent with request data`,
      },
    });
  });

  test("the three values are compared as a set, as the reference does (swapped fields still match)", async () => {
    api = await startApi();
    await insertJobs(api.db, [
      makeJob({
        rapId: X,
        repoUrl: "workspace",
        workspace: "/repo",
        commit: "0123456789abcdef0123456789abcdef01234567",
      }),
    ]);
    expect((await api.post("/rap/create/", createBody())).json).toMatchObject({ result: "No change" });
  });

  test("a rap_id is checked against jobs on every backend, even ones the token cannot see", async () => {
    api = await startApi({ BACKENDS: "test,foo", TEST_CLIENT_TOKENS: "test_token" });
    await insertJobs(api.db, [makeJob({ rapId: X, backend: "foo" })]);
    expect((await api.post("/rap/create/", createBody())).json).toMatchObject({
      error: "Inconsistent request data",
    });
  });
});

describe("the job-creation pipeline's outcomes", () => {
  test("jobs created → 201 Success with the count; the pipeline gets the body in camelCase", async () => {
    const stub = pipeline({ kind: "created", count: 4 });
    api = await startApi(undefined, { createJobs: stub.createJobs });
    const scope = { dataset_permissions: ["appointments"], population_permissions: ["include_ndoo"] };
    const answer = await api.post("/rap/create/", createBody({ analysis_scope: scope }));
    expect(answer).toMatchObject({
      status: 201,
      json: { result: "Success", details: `Jobs created for rap_id '${X}'`, rap_id: X, count: 4 },
    });
    expect(Object.keys(answer.json as object)).toEqual(["result", "details", "rap_id", "count"]);
    expect(stub.requests).toEqual([
      {
        rapId: X,
        backend: "test",
        workspace: "workspace",
        repoUrl: "/repo",
        branch: "main",
        commit: "0123456789abcdef0123456789abcdef01234567",
        databaseName: "default",
        requestedActions: ["action"],
        codelistsOk: true,
        forceRunDependencies: false,
        createdBy: "test_user",
        project: "test_project",
        orgs: ["test_org"],
        analysisScope: scope,
      },
    ]);
  });

  test.each([
    [
      "returned",
      pipeline({ kind: "nothing-to-do", details: "All requested actions were already scheduled to run" }),
    ],
    ["thrown", pipeline(new NothingToDoError("All requested actions were already scheduled to run"))],
  ])("nothing to do (%s) → 200 Nothing to do, count 0", async (_how, stub) => {
    api = await startApi(undefined, { createJobs: stub.createJobs });
    expect(await api.post("/rap/create/", createBody())).toMatchObject({
      status: 200,
      json: {
        result: "Nothing to do",
        details: "All requested actions were already scheduled to run",
        rap_id: X,
        count: 0,
      },
    });
  });

  test("a concurrent create of the same rap_id (the pipeline found it created) → 200 No change", async () => {
    api = await startApi(undefined, {
      createJobs: pipeline({ kind: "already-created", count: 3 }).createJobs,
    });
    expect(await api.post("/rap/create/", createBody())).toMatchObject({
      status: 200,
      json: { result: "No change", details: `Jobs already created for rap_id '${X}'`, rap_id: X, count: 3 },
    });
  });

  test.each([
    new GitError(`Error fetching commit ${"0".repeat(40)} from /repo`),
    new GitUnknownRefError("Could not find branch 'x'"),
    new GithubValidationError(
      "Repository URL https://not-gihub.com/invalid does not start with https://github.com",
    ),
    new UnknownActionError("Action 'does_not_exist' not found in project.yaml"),
    new RapCreateRequestError("Invalid workspace name (allowed are alphanumeric, dash and underscore)"),
    new StaleCodelistError("Codelists are out of date (required by action generate_dataset)"),
    new ReusableActionError("in 'act: minimal-action:v9' 'v9' is not a tag"),
  ])("a refusal ($code) → 400 Error creating jobs with its message as it is", async (error) => {
    const message = error.message;
    api = await startApi(undefined, { createJobs: pipeline(error).createJobs });
    expect(await api.post("/rap/create/", createBody())).toMatchObject({
      status: 400,
      json: { error: "Error creating jobs", details: message },
    });
  });

  test("S071: anything else the pipeline throws → 400 Unknown error, never a 5xx", async () => {
    for (const failure of [new Error("boom"), new PipelineError("SOMETHING_ELSE", "secret detail")]) {
      api = await startApi(undefined, { createJobs: pipeline(failure).createJobs });
      expect(await api.post("/rap/create/", createBody())).toMatchObject({
        status: 400,
        json: { error: "Error creating jobs", details: "Unknown error" },
      });
      await api.close();
    }
    api = await startApi();
  });
});
