/**
 * A worker thread's log lines written again by the process's logger (src/app/log-relay.ts): the same level, message,
 * fields and error (type, message, stack) as the thread's logger gave them; lines below the logger's level are left
 * out.
 */
import { Writable } from "node:stream";
import pino from "pino";
import { expect, test } from "vitest";
import { relayLogLine, threadLogger } from "../../src/app/log-relay.js";

function relayed(level: string) {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino(
    { level },
    new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    }),
  );
  return { lines, thread: threadLogger(level, (line) => relayLogLine(log, line)) };
}

test("a line keeps its level, message, fields and error", () => {
  const { lines, thread } = relayed("info");
  const error = new TypeError("the database went away");
  thread.child({ job: "j1", action: "a1" }).error({ err: error, failures: 2 }, "error handling job");
  thread.info({ holder: "pid 1 on h" }, "took the scheduler lease: running passes");
  expect(lines).toEqual([
    expect.objectContaining({
      level: 50,
      msg: "error handling job",
      job: "j1",
      action: "a1",
      failures: 2,
      err: { type: "TypeError", message: "the database went away", stack: error.stack },
    }),
    expect.objectContaining({
      level: 30,
      msg: "took the scheduler lease: running passes",
      holder: "pid 1 on h",
    }),
  ]);
});

test("the thread writes nothing below the process logger's level", () => {
  const { lines, thread } = relayed("warn");
  thread.info("a status change");
  thread.debug("scheduler pass");
  thread.warn("could not send spans");
  expect(lines.map((line) => line.msg)).toEqual(["could not send spans"]);
});
