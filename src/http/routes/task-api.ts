/**
 * The Task API the agents use (reference/controller.md §4.4, §4.5): `GET /{backend}/tasks/` serves a backend's
 * active tasks (DBSTATUS first) and records that its agent was seen; `POST /{backend}/task/update/` records what the
 * agent reports, as a form field `payload` holding JSON. Checks come in the reference's order: the backend (404),
 * the token (401), then for updates the method (405).
 *
 * Ours: the agent token is compared in constant time and may also come as `Bearer <token>`; a malformed update is
 * answered 400 with what is wrong (the reference answers 500); a task of another backend is refused (404, DESIGN
 * DECISIONS 7).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Config } from "../../config/index.js";
import type { Storage, Stores } from "../../db/storage.js";
import { type Clock, nowFractionalSeconds, nowSeconds } from "../../domain/clock.js";
import { Flag } from "../../domain/flags.js";
import { TaskType } from "../../domain/task.js";
import { isoWithOffsetFromUnixSeconds } from "../../python/datetime.js";
import { TokenTable } from "../auth.js";
import {
  AgentInvalidTokenError,
  BackendNotFoundError,
  NoTokenError,
  TaskNotFoundError,
  TaskUpdateFailedError,
  TaskUpdateInvalidError,
} from "../errors.js";
import { acceptRawBodies } from "../raw-body.js";

export interface TaskApiDeps {
  config: Config;
  storage: Storage;
  clock: Clock;
  /** What a DBSTATUS report changes besides its task (the `mode` flag): the scheduler's rule, in the same transaction. */
  dbStatusReported: DbStatusReported;
}

export type DbStatusReported = (
  stores: Stores,
  backend: string,
  results: Record<string, unknown>,
) => Promise<void>;

/** A valid TaskUpdate payload, or a TaskUpdateInvalidError saying what is wrong. */
function parseTaskUpdate(form: Buffer | undefined) {
  const payload = new URLSearchParams((form ?? Buffer.alloc(0)).toString("utf8")).get("payload");
  if (payload === null) throw new TaskUpdateInvalidError("The form has no 'payload' field");
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    throw new TaskUpdateInvalidError("'payload' is not valid JSON");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new TaskUpdateInvalidError("'payload' must be a JSON object");
  const update = value as Record<string, unknown>;
  const fail = (field: string, expected: string) => {
    throw new TaskUpdateInvalidError(`'payload.${field}' must be ${expected}`);
  };
  if (typeof update.task_id !== "string" || update.task_id === "") fail("task_id", "a non-empty string");
  if (typeof update.stage !== "string") fail("stage", "a string");
  if (typeof update.complete !== "boolean") fail("complete", "true or false");
  const results = update.results ?? {};
  if (typeof results !== "object" || Array.isArray(results)) fail("results", "an object");
  const timestamp = update.timestamp_ns;
  // Nanoseconds since 1970 are beyond 2^53: kept to the nearest representable value (a few hundred ns).
  if (!(timestamp === undefined || timestamp === null || timestamp === "" || Number.isInteger(timestamp)))
    fail("timestamp_ns", 'an integer, "" or null');
  return {
    taskId: update.task_id as string,
    stage: update.stage as string,
    complete: update.complete as boolean,
    results: results as Record<string, unknown>,
    // 0, "" and null leave the stored timestamp as it was, as in the reference.
    timestampNs: typeof timestamp === "number" && timestamp !== 0 ? timestamp : null,
  };
}

export async function taskApi(scope: FastifyInstance, deps: TaskApiDeps): Promise<void> {
  const { config, storage, clock } = deps;
  const tokens = new Map(
    config.backends.map((b) => [b, new TokenTable([[config.backend[b]!.jobServerToken, true]])]),
  );
  acceptRawBodies(scope);

  /** The backend of the path, once the agent's token for it is checked. */
  const authenticate = (request: FastifyRequest): string => {
    const backend = (request.params as { backend: string }).backend;
    const token = tokens.get(backend);
    if (!token) throw new BackendNotFoundError(backend);
    const header = request.headers.authorization;
    if (!header) throw new NoTokenError();
    if (!token.match(header)) throw new AgentInvalidTokenError(backend);
    return backend;
  };

  scope.get("/:backend/tasks/", async (request, reply) => {
    const backend = authenticate(request);
    const tasks = await storage.tasks.activeText(backend);
    const body = `{"tasks":[${tasks
      .map(
        (t) =>
          `{"id":${JSON.stringify(t.id)},"backend":${JSON.stringify(t.backend)},"type":${JSON.stringify(t.type)},` +
          `"definition":${t.definition},"attributes":${t.attributes},"created_at":${t.created_at}}`,
      )
      .join(",")}]}`;
    const now = nowFractionalSeconds(clock);
    await storage.flags.set(backend, Flag.LastSeenAt, isoWithOffsetFromUnixSeconds(now), now);
    // Stored definitions and attributes are ASCII JSON already (src/db/queries/tasks.ts); ids and names are ASCII.
    return reply.type("application/json; charset=utf-8").send(body);
  });

  const update = async (request: FastifyRequest, reply: FastifyReply) => {
    const backend = authenticate(request);
    if (request.method !== "POST") return reply.code(405).header("allow", "POST").send();
    const report = parseTaskUpdate(request.body as Buffer | undefined);
    await storage.transaction(async (stores) => {
      const task = await stores.tasks.get(report.taskId);
      if (!task) throw new TaskUpdateFailedError();
      if (task.backend !== backend) throw new TaskNotFoundError(report.taskId, backend);
      await stores.tasks.recordAgentUpdate(backend, report.taskId, report, nowSeconds(clock));
      if (task.type === TaskType.DbStatus) await deps.dbStatusReported(stores, backend, report.results);
    });
    return { response: "Update successful" };
  };
  scope.route({
    method: ["GET", "POST", "PUT", "DELETE", "PATCH"],
    url: "/:backend/task/update/",
    handler: update,
  });
}
