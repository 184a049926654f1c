/**
 * The thread that parses one large project.yaml (./parse-project.ts): it is sent the file's bytes, posts back the
 * plannable project or the parse error, and is then ended by its parent.
 */
import { parentPort } from "node:worker_threads";
import { ProjectValidationError, parseProject } from "../pipeline/index.js";
import type { ParseReply } from "./parse-project.js";
import { plannable } from "./plannable.js";

const port = parentPort!;

port.once("message", (bytes: Uint8Array) => {
  let reply: ParseReply;
  try {
    reply = { project: plannable(parseProject(bytes)) };
  } catch (error) {
    reply =
      error instanceof ProjectValidationError
        ? {
            invalid: {
              message: error.message,
              kind: error.kind,
              detail: error.detail,
              warnings: [...error.warnings],
            },
          }
        : { failed: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  }
  port.postMessage(reply);
});
