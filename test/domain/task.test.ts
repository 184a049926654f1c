/** Late and reordered agent updates (issue 14 item 5): which are dropped rather than stored over a newer report. */
import { describe, expect, test } from "vitest";
import { staleUpdate } from "../../src/domain/task.js";

const NS = 1_700_000_000e9;
const stored = (stage: string | null, complete = false, timestampNs: number | null = NS) => ({
  agentStage: stage,
  agentComplete: complete,
  agentTimestampNs: timestampNs,
});
const update = (stage: string, complete = false, timestampNs: number | null = NS) => ({
  stage,
  complete,
  timestampNs,
});

describe("staleUpdate", () => {
  test.each([
    // stored, update, reason (null: applied)
    ["first report", stored(null, false, null), update("preparing"), null],
    ["next stage", stored("prepared"), update("executing", false, NS + 1e9), null],
    [
      "the same stage again, same time (an executing job every poll)",
      stored("executing"),
      update("executing"),
      null,
    ],
    ["the final report", stored("executing"), update("finalized", true, NS + 9e9), null],
    [
      "a later stage stamped before the stored one (Slurm's whole seconds)",
      stored("prepared", false, NS + 0.7e9),
      update("executing", false, NS),
      null,
    ],
    [
      "the final report stamped before the stored one (the agent's clock stepped back)",
      stored("executing"),
      update("finalized", true, NS - 2e9),
      null,
    ],
    ["a final report again", stored("finalized", true), update("finalized", true), null],
    ["an error report from any stage", stored("finalizing"), update("error", true, NS + 1e9), null],
    ["no time on either side", stored("executing", false, null), update("executed", false, null), null],
    ["unknown stage after executing (not ordered)", stored("executing"), update("unknown"), null],
    [
      "un-completing a complete task",
      stored("finalized", true),
      update("executing", false, NS + 5e9),
      "the task is complete already",
    ],
    [
      "an older update",
      stored("executing"),
      update("executing", false, NS - 1e6),
      "it is older than the last update recorded",
    ],
    [
      "an older final report",
      stored("finalized", true),
      update("finalized", true, NS - 1e6),
      "it is older than the last update recorded",
    ],
    [
      "an error report older than the stored one (error has no place in the stage order)",
      stored("finalizing"),
      update("error", true, NS - 1e6),
      "it is older than the last update recorded",
    ],
    [
      "a stage going backwards",
      stored("executed"),
      update("prepared", false, NS + 1e9),
      "its stage is behind the last one recorded",
    ],
    [
      "a stage going backwards with an older time",
      stored("executing", false, NS + 1e9),
      update("prepared", false, NS),
      "it is older than the last update recorded",
    ],
    [
      "backwards without times",
      stored("finalizing", false, null),
      update("executing", false, null),
      "its stage is behind the last one recorded",
    ],
  ])("%s", (_, from, to, reason) => {
    expect(staleUpdate(from, to)).toBe(reason);
  });
});
