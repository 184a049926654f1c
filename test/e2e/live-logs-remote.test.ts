/**
 * Live logs across machines: a controller and a `rap agent` process that share nothing but HTTP. Only with
 * LOGS_TO_CONTROLLER=true on both does a job's output reach the controller (batches over the Task API) and its
 * live-log stream; otherwise the stream says the output stays on the backend and gives the job's status only.
 */
import { afterEach, expect, test } from "vitest";
import { SseParser } from "../../src/ops/sse.js";
import { startWholeSystem, type WholeSystem } from "../support/whole-system.js";
import { createGatedStudy, eventually, type GatedStudy } from "./live-support.js";
import { startRap } from "./serve-support.js";

const TIMEOUT_MS = 180_000;
const OPERATOR = "operator-token-for-tests";
let ws: WholeSystem | undefined;
let study: GatedStudy | undefined;

afterEach(async () => {
  await study?.remove();
  await ws?.close();
  ws = undefined;
  study = undefined;
});

async function start(logsToController: boolean) {
  const setting = { LOGS_TO_CONTROLLER: String(logsToController) };
  ws = await startWholeSystem({
    runtime: "local",
    controllerEnv: { ...setting, OPERATOR_TOKENS: OPERATOR, JOB_LOOP_INTERVAL: "0.1" },
    agentEnv: setting,
  });
  study = await createGatedStudy();
  ws.spawnAgent();
  const rapId = logsToController ? "remotelogs000001" : "remotelogs000002";
  expect((await ws.system.post("/rap/create/", study.createBody(rapId, ["prepare"]))).status).toBe(201);
  const jobs = await ws.until(rapId, (j) => j.prepare?.status_code === "executing");
  return { system: ws, study, jobId: String(jobs.prepare.identifier) };
}

/** The fields the tests read of an event's data. */
type EventData = { line: string; [field: string]: unknown };

/** The job's live-log stream, read until it ends; `onEvent` sees each event as it comes. */
async function readStream(
  url: string,
  jobId: string,
  onEvent: (event: string, data: EventData) => Promise<void> | void,
) {
  const response = await fetch(`${url}/operator/jobs/${jobId}/logs`, {
    headers: { authorization: OPERATOR },
  });
  expect(response.status).toBe(200);
  const parser = new SseParser();
  const decoder = new TextDecoder();
  const events: Array<{ event: string; data: EventData }> = [];
  for await (const chunk of response.body!) {
    for (const event of parser.push(decoder.decode(chunk as Uint8Array, { stream: true }))) {
      events.push(event as { event: string; data: EventData });
      await onEvent(event.event, event.data as EventData);
    }
  }
  return events;
}

test("with LOGS_TO_CONTROLLER=true, the agent sends the output and the controller streams it while the job runs", {
  timeout: TIMEOUT_MS,
}, async () => {
  const { system, study, jobId } = await start(true);
  let released = false;
  const events = await readStream(system.system.url, jobId, async (event, data) => {
    // Released only once the first line came through the controller: it was sent while the job ran.
    if (event === "output" && !released && /Z prepare before$/.test(data.line)) {
      expect((await system.system.jobs("remotelogs000001")).prepare.status).toBe("running");
      released = true;
      await study.release("prepare");
    }
  });
  expect(events[0]).toEqual({ event: "open", data: { job_id: jobId, backend: "test", output: true } });
  const lines = events.filter((e) => e.event === "output").map((e) => e.data.line.replace(/^\S+ /, ""));
  expect(lines).toEqual(["prepare before", "prepare after"]);
  expect(events.at(-1)).toEqual({
    event: "end",
    data: { state: "succeeded", status_code: "succeeded", backend: "test" },
  });

  // Read again after the job finished: what the controller kept.
  const again = await readStream(system.system.url, jobId, () => {});
  expect(again.filter((e) => e.event === "output").map((e) => e.data.line.replace(/^\S+ /, ""))).toEqual([
    "prepare before",
    "prepare after",
  ]);
});

test("without it, nothing of the output leaves the backend: the stream and rap logs -f --controller give status only", {
  timeout: TIMEOUT_MS,
}, async () => {
  const { system, study, jobId } = await start(false);
  // The Task API refuses log batches outright.
  const batch = new URLSearchParams({
    payload: JSON.stringify({
      task_id: `${jobId}-001`,
      first_line: 0,
      lines: ["secret"],
      dropped: 0,
      end: false,
    }),
  });
  const refused = await fetch(`${system.system.url}/test/task/logs/`, {
    method: "POST",
    headers: { authorization: "agent_token" },
    body: batch,
  });
  expect(refused.status).toBe(404);

  const follower = startRap(["logs", "-f", jobId, "--controller", system.system.url], {
    cwd: "/",
    env: { OPERATOR_TOKEN: OPERATOR },
  });
  await follower.waitFor("running executing");
  let released = false;
  const events = await readStream(system.system.url, jobId, async (event) => {
    if (event === "status" && !released) {
      released = true;
      await study.release("prepare");
    }
  });
  expect(events[0]).toEqual({ event: "open", data: { job_id: jobId, backend: "test", output: false } });
  expect(events.filter((e) => e.event === "output")).toEqual([]);
  expect(events.at(-1)?.event).toBe("end");
  expect(await follower.exited).toBe(0);
  expect(follower.output()).not.toContain("prepare before");
  expect(follower.output()).toContain(
    "(no output: the job's log stays on backend 'test'; its agent sends it to the controller only with " +
      "LOGS_TO_CONTROLLER=true)",
  );
  await eventually(
    async () => (await system.system.jobs("remotelogs000002")).prepare.status === "succeeded",
    "done",
  );
});
