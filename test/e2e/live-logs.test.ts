/**
 * Live job logs as an operator meets them (issue 17): a real job (the local executor, a host process) prints a line,
 * waits for the test to release it, prints another and ends. While it waits, the controller's live-log stream (SSE,
 * operator token), `rap logs -f JOB` on the machine, and `rap logs -f JOB --controller URL` from "elsewhere" have all
 * shown its first line; after it ends, each shows the second and the job's end.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import { SseParser } from "../../src/ops/sse.js";
import { eventually, type GatedServe, startGatedServe } from "./live-support.js";
import { type Running, startRap } from "./serve-support.js";

const TIMEOUT_MS = 180_000;
let serve: GatedServe;

beforeAll(async () => {
  serve = await startGatedServe();
}, TIMEOUT_MS);
afterAll(async () => {
  await serve?.stop();
});

interface Stream {
  events: Array<{ event: string; data: Record<string, unknown> }>;
  status: number;
  done: Promise<void>;
}

/** Reads the job's live-log stream with this token, gathering its events. */
async function openStream(jobId: string, token: string): Promise<Stream> {
  const response = await fetch(`${serve.url}/operator/jobs/${jobId}/logs`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const stream: Stream = { events: [], status: response.status, done: Promise.resolve() };
  if (!response.ok || !response.body) return stream;
  expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
  const parser = new SseParser();
  const decoder = new TextDecoder();
  const body = response.body;
  stream.done = (async () => {
    for await (const chunk of body) {
      for (const event of parser.push(decoder.decode(chunk as Uint8Array, { stream: true }))) {
        stream.events.push(event as Stream["events"][number]);
      }
    }
  })();
  return stream;
}

const outputLines = (stream: Stream) =>
  stream.events.filter((e) => e.event === "output").map((e) => String(e.data.line));
const TIMESTAMPED = (text: string) => new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z ${text}$`);

test("the SSE stream, rap logs -f and rap logs -f --controller show a job's output while it runs, and end with it", {
  timeout: TIMEOUT_MS,
}, async () => {
  await serve.createRap("livelogs00000001", ["prepare"]);
  await eventually(
    async () => (await serve.jobs("livelogs00000001")).prepare?.status === "running",
    "running",
  );
  const jobId = (await serve.jobs("livelogs00000001")).prepare!.identifier;

  const stream = await openStream(jobId, serve.operatorToken);
  expect(stream.status).toBe(200);
  const env = { BACKENDS: "test", EXECUTOR: "local" };
  const local: Running = startRap(["logs", "-f", jobId], { cwd: serve.dir, env });
  const remote: Running = startRap(["logs", "-f", jobId, "--controller", serve.url], {
    cwd: "/",
    env: { OPERATOR_TOKEN: serve.operatorToken },
  });

  // The job is held at its gate: whatever shows its first line read it live.
  await eventually(
    () => outputLines(stream).some((line) => TIMESTAMPED("prepare before").test(line)),
    "SSE line",
  );
  await local.waitFor(/Z prepare before\n/);
  await remote.waitFor(/Z prepare before\n/);
  expect((await serve.jobs("livelogs00000001")).prepare!.status).toBe("running");
  for (const reader of [local, remote]) expect(reader.output()).not.toContain("prepare after");
  expect(stream.events[0]).toEqual({ event: "open", data: { job_id: jobId, backend: "test", output: true } });
  expect(stream.events[1]).toMatchObject({ event: "status", data: { state: "running" } });

  await serve.release("prepare");
  await stream.done;
  expect(outputLines(stream).map((line) => line.replace(/^\S+ /, ""))).toEqual([
    "prepare before",
    "prepare after",
  ]);
  expect(stream.events.at(-1)).toEqual({
    event: "end",
    data: { state: "succeeded", status_code: "succeeded", backend: "test" },
  });
  expect(stream.events.at(-2)).toMatchObject({ event: "status", data: { state: "succeeded" } });

  for (const reader of [local, remote]) {
    expect(await reader.exited, reader.output()).toBe(0);
    const lines = reader.output().trimEnd().split("\n");
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ running /);
    expect(lines.filter((line) => /Z prepare (before|after)$/.test(line))).toHaveLength(2);
    expect(lines.at(-1)).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ succeeded succeeded: Completed successfully$/,
    );
  }
});

test("the stream answers only operator tokens: 401 without one, and with a client token", {
  timeout: TIMEOUT_MS,
}, async () => {
  await serve.createRap("livelogs00000002", ["prepare"]);
  await eventually(async () => (await serve.jobs("livelogs00000002")).prepare !== undefined, "a job");
  const jobId = (await serve.jobs("livelogs00000002")).prepare!.identifier;
  expect((await fetch(`${serve.url}/operator/jobs/${jobId}/logs`)).status).toBe(401);
  expect((await openStream(jobId, "client")).status).toBe(401);
  expect((await openStream("nosuchjob", serve.operatorToken)).status).toBe(404);
  const refused = startRap(["logs", "-f", jobId, "--controller", serve.url], {
    cwd: "/",
    env: { OPERATOR_TOKEN: "client" },
  });
  expect(await refused.exited).toBe(1);
  expect(refused.output()).toContain(
    'The controller answered 401: {"error":"Unauthorized","details":"Invalid token"}',
  );
  await serve.release("prepare");
});
