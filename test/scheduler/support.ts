/** Shared steps of the scheduler scenarios: a study repository, a RAP created through the API, ISO times. */
import { expect } from "vitest";
import type { Clock } from "../../src/domain/clock.js";
import { isoFromUnixSeconds } from "../../src/python/datetime.js";
import { createStudyRepo } from "../support/git-fixtures.js";
import type { System } from "../support/system.js";

let counter = 0;
/** A fresh rap id, unique across test files running in parallel. */
export function newRapId(): string {
  counter += 1;
  return `s${process.pid.toString(36)}`.padEnd(7, "0").slice(0, 7) + String(counter).padStart(9, "0");
}

export async function studyRepo(projectYaml: string): Promise<{ path: string; commit: string }> {
  const repo = await createStudyRepo({ files: { "project.yaml": projectYaml } });
  return { path: repo.path, commit: repo.commits[0]! };
}

/** Creates a RAP through the API (scenarios.md §0.3 defaults) and returns its id. */
export async function createRap(
  system: System<Clock>,
  repo: { path: string; commit: string },
  actions: string[],
  overrides: Record<string, unknown> = {},
): Promise<string> {
  const rapId = newRapId();
  const answer = await system.post("/rap/create/", {
    backend: "test",
    rap_id: rapId,
    workspace: "workspace",
    repo_url: repo.path,
    branch: "main",
    commit: repo.commit,
    database_name: "default",
    requested_actions: actions,
    codelists_ok: true,
    force_run_dependencies: false,
    created_by: "test_user",
    project: "test_project",
    orgs: ["test_org"],
    analysis_scope: {},
    ...overrides,
  });
  expect(answer.status, JSON.stringify(answer.json)).toBe(201);
  return rapId;
}

export const iso = (seconds: number) => isoFromUnixSeconds(seconds);

/** Projects with the actions the scenarios name. */
export const project = (actions: Record<string, { run: string; needs?: string[]; out?: string }>) =>
  `version: '4.0'\nactions:\n${Object.entries(actions)
    .map(
      ([name, a]) =>
        `  ${name}:\n    run: ${a.run}\n${a.needs ? `    needs: [${a.needs.join(", ")}]\n` : ""}    outputs: {${a.run.includes("generate-dataset") ? "highly_sensitive" : "moderately_sensitive"}: {out: ${a.out ?? `output/${name}.txt`}}}\n`,
    )
    .join("")}`;
