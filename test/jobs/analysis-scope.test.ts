import { describe, expect, test } from "vitest";
import { buildAnalysisScope } from "../../src/jobs/analysis-scope.js";

const APPROVED = "echo-evaluation-of-covid-19-vaccine-histories-using-opensafely";

describe("buildAnalysisScope (§11.39)", () => {
  test.each([
    [{}, "p", { dataset_permissions: [] }],
    [
      { dataset_permissions: ["table3", "table1", "table2"] },
      "p",
      { dataset_permissions: ["table1", "table2", "table3"] },
    ],
    [
      { population_permissions: ["include_ndoo"], dataset_permissions: ["b", "a"] },
      "p",
      { population_permissions: ["include_ndoo"], dataset_permissions: ["a", "b"] },
    ],
    [{}, APPROVED, { dataset_permissions: [], component_access: ["event_level_data"] }],
    [
      { component_access: ["zzz", "event_level_data"] },
      APPROVED,
      { component_access: ["event_level_data", "zzz"], dataset_permissions: [] },
    ],
  ])("%j for project %s → %j", (requested, project, expected) => {
    const scope = buildAnalysisScope(requested, project);
    expect(scope).toEqual(expected);
    // Key order is part of the stored JSON (and of EHRQL_PERMISSIONS later).
    expect(Object.keys(scope)).toEqual(Object.keys(expected));
  });
});
