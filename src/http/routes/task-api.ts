/**
 * The Task API the agents use (reference/controller.md §4.4, §4.5): `GET /{backend}/tasks/` serves a backend's
 * active tasks (DBSTATUS first) and records that its agent was seen; `POST /{backend}/task/update/` records what the
 * agent reports, as a form field `payload` holding JSON; with LOGS_TO_CONTROLLER=true, `POST /{backend}/task/logs/`
 * takes batches of running jobs' output (ours: src/http/task-logs.ts). Checks come in the reference's order: the backend (404),
 * the token (401), then for updates the method (405).
 *
 * Ours: the agent token is compared in constant time and may also come as `Bearer <token>`; a malformed update is
 * answered 400 with what is wrong (the reference answers 500; src/http/task-update.ts); an unknown task, or one of
 * another backend, is refused 404 naming it (the reference answers 500; DESIGN DECISIONS 7). The task list is kept
 * rendered until the backend's tasks change (src/http/task-lists.ts); our agent may ask it to wait for a change
 * (`?wait=SECONDS`, answered with an ETag to send back as If-None-Match), the reference's agent never does and gets
 * the reference's answer; `last-seen-at` is written at most once a second per backend.
 */
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Config } from "../../config/index.js";
import type { Storage, Stores } from "../../db/storage.js";
import { AGENT_FIGURES_HEADER } from "../../domain/agent-figures.js";
import { type Clock, nowFractionalSeconds, nowNanos, nowSeconds } from "../../domain/clock.js";
import { Flag } from "../../domain/flags.js";
import { staleUpdate, TaskType } from "../../domain/task.js";
import type { JobLogBuffer } from "../../ops/job-log-buffer.js";
import { isoWithOffsetFromUnixSeconds } from "../../python/datetime.js";
import type { ControllerMetrics, TaskUpdateResult } from "../../telemetry/metrics.js";
import { AgentFiguresInvalid, parseAgentFigures } from "../agent-figures.js";
import { TokenTable } from "../auth.js";
import {
  AgentInvalidTokenError,
  BackendNotFoundError,
  NoTokenError,
  TaskNotFoundError,
  TaskUpdateInvalidError,
} from "../errors.js";
import { acceptRawBodies } from "../raw-body.js";
import { type TaskList, TaskLists } from "../task-lists.js";
import { parseLogBatch } from "../task-logs.js";
import { parseTaskUpdate } from "../task-update.js";

export interface TaskApiDeps {
  config: Config;
  storage: Storage;
  clock: Clock;
  /** What a DBSTATUS report changes besides its task (the `mode` flag): the scheduler's rule, in the same transaction. */
  dbStatusReported: DbStatusReported;
  /** Counts tasks served and updates, and keeps the figures agents report (src/domain/agent-figures.ts). */
  metrics?: ControllerMetrics;
  /** Where jobs' output sent by agents is kept (LOGS_TO_CONTROLLER=true); absent: `task/logs/` is not served. */
  jobLogs?: JobLogBuffer;
  /** Asks the scheduler for a pass now: an update completed a task or moved it to another stage. */
  wakeScheduler?: () => void;
}

/**
 * A backend's `last-seen-at` flag is written by a poll at most this often (the reference writes it on every poll):
 * backend/status's `last_seen` is so at most this much older than the agent's latest poll.
 */
export const LAST_SEEN_EVERY_SECONDS = 1;

/** The longest wait a poll may ask for (`?wait=SECONDS`); a longer one waits this long. */
export const MAX_TASK_WAIT_SECONDS = 60;

/**
 * The wait a poll asks for (ours, `?wait=SECONDS`), in ms; null when it asks none, or not as a number of seconds
 * (the reference's agent never does): answered at once, as the reference answers.
 */
export function requestedWaitMs(query: unknown): number | null {
  const wait = (query as { wait?: unknown } | undefined)?.wait;
  if (typeof wait !== "string" || wait.trim() === "") return null;
  const seconds = Number(wait);
  if (!Number.isFinite(seconds) || seconds < 0) return null;
  return Math.min(seconds, MAX_TASK_WAIT_SECONDS) * 1000;
}

export type DbStatusReported = (
  stores: Stores,
  backend: string,
  results: Record<string, unknown>,
) => Promise<void>;

export async function taskApi(scope: FastifyInstance, deps: TaskApiDeps): Promise<void> {
  const { config, storage, clock, metrics } = deps;
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

  /**
   * The poll's side write: if it fails (the database's disk is full), the agent still gets its tasks, and the
   * failure is logged once until a write succeeds again, not on every poll of every agent.
   */
  let lastSeenFailing = false;
  const lastSeenWritten = new Map<string, number>();
  const recordLastSeen = async (backend: string, log: FastifyBaseLogger) => {
    const now = nowFractionalSeconds(clock);
    // Written at most once a LAST_SEEN_EVERY_SECONDS per backend: a write per poll of each of many agents would
    // only keep the database busy and every kept answer (backend/status, the task lists) being read again.
    if (now - (lastSeenWritten.get(backend) ?? Number.NEGATIVE_INFINITY) < LAST_SEEN_EVERY_SECONDS) return;
    try {
      await storage.flags.set(backend, Flag.LastSeenAt, isoWithOffsetFromUnixSeconds(now), now);
      lastSeenWritten.set(backend, now);
      if (lastSeenFailing) log.info("the agents' last-seen times are recorded again");
      lastSeenFailing = false;
    } catch (error) {
      if (!lastSeenFailing)
        log.error({ err: error }, "could not record an agent's last-seen time; tasks are still served");
      lastSeenFailing = true;
    }
  };

  /**
   * An agent's figures (ours, optional): a malformed report is dropped and said once per backend until a good one
   * comes, and never keeps the agent from its tasks.
   */
  const refusedFigures = new Set<string>();
  const recordFigures = (backend: string, header: string | string[] | undefined, log: FastifyBaseLogger) => {
    if (!metrics || typeof header !== "string") return;
    try {
      metrics.agentReported(backend, parseAgentFigures(header));
      refusedFigures.delete(backend);
    } catch (error) {
      if (!(error instanceof AgentFiguresInvalid)) throw error;
      if (!refusedFigures.has(backend))
        log.warn({ backend, reason: error.message }, `ignored the agent's figures (${AGENT_FIGURES_HEADER})`);
      refusedFigures.add(backend);
    }
  };

  const lists = new TaskLists(storage);
  // Waiting polls are answered before the server closes, not left to hold the close up.
  scope.addHook("preClose", async () => lists.close());

  scope.get("/:backend/tasks/", async (request, reply) => {
    const backend = authenticate(request);
    recordFigures(backend, request.headers[AGENT_FIGURES_HEADER], request.log);
    const waitMs = requestedWaitMs(request.query);
    let list: TaskList;
    if (waitMs === null) {
      list = await lists.current(backend);
    } else {
      const gone = new AbortController();
      reply.raw.once("close", () => gone.abort());
      list = await lists.changedFrom(backend, request.headers["if-none-match"], waitMs, gone.signal);
      reply.header("etag", list.tag);
    }
    await recordLastSeen(backend, request.log);
    metrics?.tasksServedTo(backend, list.count);
    return reply.type("application/json; charset=utf-8").send(list.body);
  });

  const update = async (request: FastifyRequest, reply: FastifyReply) => {
    const backend = authenticate(request);
    if (request.method !== "POST") return reply.code(405).header("allow", "POST").send();
    let result: TaskUpdateResult = "error";
    try {
      const applied = await applyUpdate(request, backend);
      result = applied.result;
      // After the commit, so the pass it wakes reads the update.
      if (applied.moved) deps.wakeScheduler?.();
      if (applied.result === "accepted" && applied.completed) lists.touched(backend);
    } catch (error) {
      if (error instanceof TaskUpdateInvalidError) result = "invalid";
      else if (error instanceof TaskNotFoundError) result = "unknown_task";
      throw error;
    } finally {
      metrics?.taskUpdate(backend, result);
    }
    return { response: "Update successful" };
  };

  /**
   * Records a valid update; answers whether it was `accepted` or `stale` (answered as a success all the same), and
   * whether it `moved` the task: completed it or changed its stage, which is what the scheduler acts on.
   */
  const applyUpdate = async (
    request: FastifyRequest,
    backend: string,
  ): Promise<{ result: "accepted" | "stale"; moved: boolean; completed: boolean }> => {
    const report = parseTaskUpdate(request.body as Buffer | undefined, {
      nowNs: nowNanos(clock),
      maxStringChars: config.limits.maxAgentStringChars,
    });
    return storage.transaction(async (stores) => {
      const task = await stores.tasks.get(report.taskId);
      if (task?.backend !== backend) throw new TaskNotFoundError(report.taskId, backend);
      const stale = staleUpdate(task, report);
      if (stale !== null) {
        // Not the agent's fault (a late or reordered POST): answered as a success, so it is not sent again.
        request.log.info({ task: task.id, stage: report.stage, reason: stale }, "ignored a late task update");
        return { result: "stale", moved: false, completed: false };
      }
      await stores.tasks.recordAgentUpdate(backend, report.taskId, report, nowSeconds(clock));
      if (task.type === TaskType.DbStatus) await deps.dbStatusReported(stores, backend, report.results);
      const moved = report.complete || report.stage !== task.agentStage;
      return { result: "accepted", moved, completed: report.complete };
    });
  };
  scope.route({
    method: ["GET", "POST", "PUT", "DELETE", "PATCH"],
    url: "/:backend/task/update/",
    handler: update,
  });

  const { jobLogs } = deps;
  if (jobLogs) {
    scope.post("/:backend/task/logs/", async (request) => {
      const backend = authenticate(request);
      const batch = parseLogBatch(request.body as Buffer | undefined, config.limits.maxAgentStringChars);
      const task = await storage.tasks.get(batch.taskId);
      if (task?.backend !== backend || task.type !== TaskType.RunJob || !task.jobId)
        throw new TaskNotFoundError(batch.taskId, backend);
      jobLogs.append(task.jobId, batch);
      return { response: "Logs received" };
    });
  }
}
