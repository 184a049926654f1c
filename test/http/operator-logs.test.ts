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

/** Posts a batch of output as the test backend's agent (or with another token). */
async function postBatch(s: System, payload: unknown, token = "agent_token") {
  const response = await fetch(`${s.url}/test/task/logs/`, {
    method: "POST",
    headers: { authorization: token },
    body: new URLSearchParams({ payload: JSON.stringify(payload) }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

test("with LOGS_TO_CONTROLLER, the Task API takes a batch of a RUNJOB of the agent's own backend, checked", async () => {
  system = await startSystem({
    OPERATOR_TOKENS: "op",
    LOGS_TO_CONTROLLER: "true",
    BACKENDS: "test,tpp",
    TPP_JOB_SERVER_TOKEN: "tpp_agent_token",
  });
  const rap = await createRap(system, await studyRepo(FX_ACT), ["action1"]);
  await system.tick();
  const jobId = deterministicJobId(rap, "action1");
  const batch = { task_id: `${jobId}-001`, first_line: 0, lines: ["hello", "world"], dropped: 0, end: true };

  expect(await postBatch(system, batch)).toEqual({ status: 200, json: { response: "Logs received" } });
  expect((await postBatch(system, batch, "wrong")).status).toBe(401);
  expect((await postBatch(system, { ...batch, task_id: "nosuchtask-001" })).status).toBe(404);
  expect((await postBatch(system, { ...batch, lines: [1] })).json).toEqual({
    error: "Invalid task update",
    details: "'payload.lines[0]' must be a string",
  });
  // Another backend's agent may not write into this backend's job.
  const other = await fetch(`${system.url}/tpp/task/logs/`, {
    method: "POST",
    headers: { authorization: "tpp_agent_token" },
    body: new URLSearchParams({ payload: JSON.stringify(batch) }),
  });
  expect(other.status).toBe(404);

  // The stream gives what was kept (the agent said its output ended).
  const response = await fetch(`${system.url}/operator/jobs/${jobId}/logs`, {
    headers: { authorization: "op" },
  });
  const parser = new SseParser();
  const lines: unknown[] = [];
  for await (const chunk of response.body!) {
    for (const event of parser.push(Buffer.from(chunk).toString("utf8"))) {
      if (event.event === "output") lines.push((event.data as { line: string }).line);
    }
    if (lines.length === 2) break;
  }
  expect(lines).toEqual(["hello", "world"]);
});
