/**
 * The live-log stream on a controller alone (no agent, no output source): it gives a job's status, says it has no
 * output, and ends when the controller closes, so an open stream never holds a shutdown up.
 */
import { afterEach, expect, test } from "vitest";
import { deterministicJobId } from "../../src/domain/ids.js";
import { SseParser } from "../../src/ops/sse.js";
import { FX_ACT } from "../jobs/fixtures.js";
import { createRap, studyRepo } from "../scheduler/support.js";
import { type System, startSystem } from "../support/system.js";

let system: System | undefined;
afterEach(async () => {
  await system?.close();
  system = undefined;
});

test("a stream of a job that never finishes ends when the controller closes", async () => {
  system = await startSystem({ OPERATOR_TOKENS: "op" });
  const rap = await createRap(system, await studyRepo(FX_ACT), ["action1"]);
  const jobId = deterministicJobId(rap, "action1");
  const response = await fetch(`${system.url}/operator/jobs/${jobId}/logs`, {
    headers: { authorization: "op" },
  });
  expect(response.status).toBe(200);
  const parser = new SseParser();
  const events: Array<{ event: string; data: unknown }> = [];
  const read = (async () => {
    for await (const chunk of response.body!)
      events.push(...parser.push(Buffer.from(chunk).toString("utf8")));
  })();
  while (events.length < 2) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(events).toEqual([
    { event: "open", data: { job_id: jobId, backend: "test", output: false } },
    { event: "status", data: expect.objectContaining({ state: "pending", status_code: "created" }) },
  ]);
  await system.close();
  system = undefined;
  await read;
  expect(events.map((e) => e.event)).toEqual(["open", "status"]);
});

test("without OPERATOR_TOKENS there is no stream, no operator API and no dashboard", async () => {
  system = await startSystem();
  for (const path of ["/operator/jobs/x/logs", "/operator/api/overview", "/dashboard/"]) {
    const answer = await fetch(`${system.url}${path}`, { headers: { authorization: "test_token" } });
    expect(answer.status, path).toBe(404);
  }
});
