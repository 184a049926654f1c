/**
 * Hostile creates over HTTP against real local git repositories (issue 9 of the hardening work): YAML aliases that
 * multiply bytes, `needs` chains thousands long, names that would become unsafe paths, and requests that used to leak
 * what they should not. Each refusal is a 400 whose message names the problem, and creates nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { insertJobs } from "../../src/db/queries/jobs.js";
import { parseProject } from "../../src/pipeline/index.js";
import { makeJob } from "../support/factories.js";
import { createStudyRepo } from "../support/git-fixtures.js";
import { body, CFG_LOCAL, type CreateApi, newRapId, startCreateApi } from "./support.js";

let api: CreateApi;
beforeAll(async () => {
  api = await startCreateApi({ ...CFG_LOCAL, BACKENDS: "test,tpp", TPP_CLIENT_TOKENS: "tpp_token" });
});
afterAll(async () => api.close());

let workspaceCounter = 0;
/** A repository whose one commit holds this project.yaml; a create body for it, in a fresh workspace. */
async function request(yaml: string, overrides: Record<string, unknown> = {}) {
  const repo = await createStudyRepo({ files: { "project.yaml": yaml } });
  return body(repo.path, repo.commits[0]!, { workspace: `hostile-${++workspaceCounter}`, ...overrides });
}

const refused = (details: string) => ({ status: 400, json: { error: "Error creating jobs", details } });

async function create(payload: Record<string, unknown>) {
  const answer = await api.post("/rap/create/", payload);
  return { status: answer.status, json: answer.json };
}

async function jobCount(rapId: unknown): Promise<number> {
  const rows = await api.db.selectFrom("job").select("id").where("rap_id", "=", String(rapId)).execute();
  return rows.length;
}

const outputs = (name: string) => `    outputs: {moderately_sensitive: {t: output/${name}.csv}}\n`;
const action = (name: string, extra = "") =>
  `  ${name}:\n    run: python:v2 ${name}.py\n${extra}${outputs(name)}`;
const project = (...actions: string[]) => `version: "4.0"\nactions:\n${actions.join("")}`;

describe("2. YAML aliases that multiply bytes", () => {
  const bomb = (aliases: number) =>
    project(
      `  a:\n    run: python:v2 a.py\n    config: {big: &s "${"x".repeat(1_000_000)}", l: [${Array(aliases).fill("*s").join(", ")}]}\n${outputs("a")}`,
    );

  test.each([50, 2000])(
    "a 1 MB string aliased %i times is refused as a YAML error, nothing created",
    async (n) => {
      const payload = await request(bomb(n));
      const answer = await create(payload);
      expect(answer.status).toBe(400);
      expect((answer.json as { details: string }).details).toContain(
        "found too many alias expansions: aliases expand the document by more than 4000000 characters of text",
      );
      expect(await jobCount(payload.rap_id)).toBe(0);
    },
  );

  test("a run_command over MAX_RUN_COMMAND_BYTES is refused naming the action and the setting", async () => {
    const payload = await request(
      project(
        action("small"),
        `  big:\n    run: python:v2 big.py\n    config: {x: "${"y".repeat(70_000)}"}\n${outputs("big")}`,
      ),
      { requested_actions: ["run_all"] },
    );
    expect(await create(payload)).toEqual(
      refused(
        "Action 'big' would run a command of 70037 bytes, more than the 65536 bytes this server accepts (MAX_RUN_COMMAND_BYTES)",
      ),
    );
    expect(await jobCount(payload.rap_id)).toBe(0);
  });
});

describe("3. deep needs chains", () => {
  test("6,000 chained actions are created, dependencies first", async () => {
    const chain = Array.from({ length: 6000 }, (_, i) =>
      action(`a${i}`, i > 0 ? `    needs: [a${i - 1}]\n` : ""),
    );
    const payload = await request(project(...chain), { requested_actions: ["a5999"] });
    const answer = await create(payload);
    expect(answer).toMatchObject({ status: 201, json: { count: 6000 } });
  });
});

describe("6. names used as paths", () => {
  const rule =
    "an action name must be a single path segment: no '/', '\\', NUL, '.' or '..', no leading '-', at most 200 characters";

  test.each([["../../evil"], ["a/b"], ["a\\b"], ["."], ["-rf"], ["x".repeat(201)]])(
    "an action named %j is accepted by rap check but refused at create",
    async (name) => {
      const yaml = project(`  ${JSON.stringify(name)}:\n    run: python:v2 a.py\n${outputs("a")}`);
      expect(parseProject(yaml).allActions).toHaveLength(1);
      const payload = await request(yaml, { requested_actions: ["run_all"] });
      const shown = name.length > 200 ? `${name.slice(0, 200)}…` : name;
      expect(await create(payload)).toEqual(refused(`Action name '${shown}' cannot be used: ${rule}`));
      expect(await jobCount(payload.rap_id)).toBe(0);
    },
  );

  test("an unsafe action only needed, not requested, is refused too", async () => {
    const yaml = project(
      `  "../up":\n    run: python:v2 up.py\n${outputs("up")}`,
      action("ok", `    needs: ["../up"]\n`),
    );
    expect(await create(await request(yaml, { requested_actions: ["ok"] }))).toEqual(
      refused(`Action name '../up' cannot be used: ${rule}`),
    );
  });

  test("an unsafe requested name is refused before git is asked anything", async () => {
    const payload = body("/no/such/repo", "0".repeat(40), { requested_actions: ["../../evil"] });
    expect(await create(payload)).toEqual(refused(`Action name '../../evil' cannot be used: ${rule}`));
  });

  test("an output pattern with NUL is refused", async () => {
    const yaml = project(
      `  a:\n    run: python:v2 a.py\n    outputs: {moderately_sensitive: {t: "o/\\0x.csv"}}\n`,
    );
    expect(await create(await request(yaml, { requested_actions: ["a"] }))).toEqual(
      refused("Output 't' of action 'a' has a NUL character in its path pattern"),
    );
  });

  test("a workspace name over 200 characters is refused; 200 is accepted", async () => {
    const yaml = project(action("a"));
    expect(await create(await request(yaml, { workspace: "w".repeat(201) }))).toEqual(
      refused("Workspace name is longer than 200 characters"),
    );
    expect(
      (await create(await request(yaml, { workspace: "w".repeat(200), requested_actions: ["a"] }))).status,
    ).toBe(201);
  });
});

describe("7. small leaks", () => {
  test("a NUL in a local repo_url is refused clearly, not an unknown error", async () => {
    expect(await create(body("/tmp/a\u0000b", "0".repeat(40)))).toEqual(
      refused("Repository URL /tmp/a\u0000b is not allowed: a path cannot contain a NUL character"),
    );
  });

  test("a 100,000-character local path: the message shows 200 characters of it and nothing of the server's", async () => {
    const path = `/${"a".repeat(100_000)}`;
    const answer = await create(body(path, "0".repeat(40)));
    expect(answer.status).toBe(400);
    const details = (answer.json as { details: string }).details;
    expect(details).toContain(`${path.slice(0, 200)}…`);
    expect(details).not.toContain(api.workdir);
    expect(details.length).toBeLessThan(300);
  });

  test("a rap_id of another backend is inconsistent, whatever the rest of the request", async () => {
    const rapId = newRapId();
    const stored = makeJob({
      rapId,
      action: "a",
      backend: "tpp",
      repoUrl: "/repo",
      workspace: "ws",
      commit: "c".repeat(40),
    });
    await insertJobs(api.db, [stored]);
    const inconsistent = {
      status: 400,
      json: {
        error: "Inconsistent request data",
        details: `Jobs already created for rap_id '${rapId}' are inconsistent with request data`,
      },
    };
    const same = body("/repo", "c".repeat(40), { rap_id: rapId, workspace: "ws" });
    expect(await create(same)).toEqual(inconsistent);
    expect(await create({ ...same, workspace: "other" })).toEqual(inconsistent);
    // The same request for the RAP's own backend gets the reference's answer.
    const asTpp = await api.post("/rap/create/", { ...same, backend: "tpp" }, { authorization: "tpp_token" });
    expect(asTpp.json).toEqual({
      result: "No change",
      details: `Jobs already created for rap_id '${rapId}'`,
      rap_id: rapId,
      count: 1,
    });
  });
});
