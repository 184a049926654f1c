/** Job resource weights (reference/controller.md §3.1; scenarios S127, S130; §11.55). */
import { expect, test } from "vitest";
import { jobWeight, parseWeights, WeightsSyntaxError } from "../../src/domain/weights.js";

const job = (workspace: string, action: string, runCommand = "python:v2 analysis/a.py") => ({
  workspace,
  action,
  runCommand,
});

test("the workspace's section is matched against the action name, in file order; else [default] on the command", () => {
  const rules = parseWeights(`
[default]
ehrql:v1 generate-dataset .* = 4
python:.* = 0.5

[workspace]
# comments and blank lines are ignored
action\\d{1} = 1.5
action.* = 3
`);
  expect(jobWeight(rules, job("workspace", "action1"))).toBe(1.5);
  expect(jobWeight(rules, job("workspace", "action12"))).toBe(3);
  // Full match: a prefix is not enough.
  expect(jobWeight(rules, job("workspace", "my_action1", "stata-mp:v1 x.do"))).toBe(1);
  // No rule of the workspace matches: the default section decides, on the run command.
  expect(jobWeight(rules, job("workspace", "other", "ehrql:v1 generate-dataset a.py --output x"))).toBe(4);
  expect(jobWeight(rules, job("elsewhere", "action1"))).toBe(0.5);
  expect(jobWeight(rules, job("elsewhere", "action1", "r:latest x.R"))).toBe(1);
});

test("option names are lowercased as configparser does; section names keep their case", () => {
  const rules = parseWeights("[MyWorkspace]\nACTION = 2\n");
  expect(jobWeight(rules, job("MyWorkspace", "action"))).toBe(2);
  expect(jobWeight(rules, job("MyWorkspace", "ACTION"))).toBe(1);
  expect(jobWeight(rules, job("myworkspace", "action"))).toBe(1);
});

test.each([
  ["[w]\na = 1\na = 2\n", "line 3: 'a' appears twice in [w]"],
  ["a = 1\n", "line 1: an option before any [section]"],
  ["[w]\na: 1\n", "line 2: expected 'pattern = weight'"],
  ["[w]\na = lots\n", "line 2: weight 'lots' is not a number"],
  ["[w]\n( = 1\n", "line 2: '(' is not a valid regular expression"],
])("a bad file is refused with the line: %j", (text, message) => {
  expect(() => parseWeights(text)).toThrow(WeightsSyntaxError);
  expect(() => parseWeights(text)).toThrow(message);
});
