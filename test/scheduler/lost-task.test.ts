/** When a running job's task is lost for good (issue 14 item 5), pure: gone, or silent while the agent polls. */
import { describe, expect, test } from "vitest";
import { StatusMessage, taskSilentMessage } from "../../src/domain/messages.js";
import { AgentPresence, lostTaskMessage } from "../../src/scheduler/lost-task.js";

const T = 1_700_000_000;
const task = (over: Partial<Parameters<typeof lostTaskMessage>[0]> = {}) => ({
  active: true,
  agentComplete: false,
  agentUpdatedAt: T,
  createdAt: T - 100,
  ...over,
});
const SILENT = taskSilentMessage(3600);

describe("lostTaskMessage", () => {
  test.each([
    // task, agent polling since, now, message
    ["reporting, agent polling", task(), T - 500, T + 10, null],
    [
      "complete (the next pass reads its result)",
      task({ active: false, agentComplete: true }),
      T,
      T + 9e4,
      null,
    ],
    ["inactive and never complete: gone", task({ active: false }), null, T, StatusMessage.TaskLost],
    ["silent exactly the timeout while the agent polls", task(), T - 500, T + 3600, SILENT],
    ["silent less than the timeout", task(), T - 500, T + 3599, null],
    ["never reported: silent since created", task({ agentUpdatedAt: null }), T - 500, T + 3500, SILENT],
    ["the agent is away (backend down): it waits", task(), null, T + 9e4, null],
    [
      "the agent just came back from a long outage: counted from its return",
      task(),
      T + 9000,
      T + 9010,
      null,
    ],
    ["back for the whole timeout, still silent", task(), T + 9000, T + 12_600, SILENT],
  ])("%s", (_, t, since, now, message) => {
    expect(lostTaskMessage(t, since, now, 3600)).toBe(message);
  });

  test("the message names the timeout in minutes or seconds", () => {
    expect(taskSilentMessage(1800)).toBe(
      "The backend stopped reporting on this job (nothing for 30 minutes while it kept working on others), so it was stopped. Please run it again; if this happens again, contact tech support.",
    );
    expect(taskSilentMessage(90)).toContain("nothing for 90 seconds");
  });
});

test("AgentPresence: polling since the first pass that saw it, until it is away for two minutes", () => {
  const presence = new AgentPresence();
  presence.observe("test", null, T);
  expect(presence.pollingSince("test")).toBeNull();
  presence.observe("test", T + 10, T + 11);
  presence.observe("test", T + 100, T + 101);
  expect(presence.pollingSince("test")).toBe(T + 11);
  presence.observe("test", T + 100, T + 221);
  expect(presence.pollingSince("test")).toBeNull();
  presence.observe("test", T + 300, T + 300);
  expect(presence.pollingSince("test")).toBe(T + 300);
});
