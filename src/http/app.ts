/**
 * The HTTP app: health check at `/`, readiness at `/readyz`, the RAP API and its documentation under /controller/v1/, the Task API under
 * /{backend}/; with OPERATOR_TOKENS, `/metrics`, the operator's read-only endpoints under /operator/ and the
 * dashboard's page. `buildApp` only builds a ready Fastify instance from services it is given (src/app builds them);
 * listening, signals and shutdown belong to the caller (src/app for the CLI, `app.inject` in tests).
 *
 * Every answer is JSON (a 405's empty body and the metrics' text aside): unknown paths get a JSON 404 and failures a
 * JSON error, and the client token is never logged.
 */

import type { Tracer } from "@opentelemetry/api";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import type { Logger } from "pino";
import type { Config } from "../config/index.js";
import type { StatusReader, Storage } from "../db/storage.js";
import { type Clock, nowSeconds, systemClock } from "../domain/clock.js";
import type { JobLogBuffer } from "../ops/job-log-buffer.js";
import type { JobOutput } from "../ops/logs.js";
import { toAsciiJson } from "../python/ascii-json.js";
import type { ControllerMetrics } from "../telemetry/metrics.js";
import { ClientTokens } from "./auth.js";
import { answerClientErrors, answerFrameworkError } from "./client-errors.js";
import { apiErrorFor, InternalError, NotFoundError } from "./errors.js";
import { logFailedRequests, noteErrorCode } from "./failure-log.js";
import { closeIdleConnectionsOnClose } from "./idle-connections.js";
import { measureRequests, metricsEndpoint } from "./metrics.js";
import { loadApiDocument } from "./openapi.js";
import { registerOperatorRoutes } from "./operator-auth.js";
import { dashboard } from "./routes/dashboard.js";
import { docs } from "./routes/docs.js";
import { health } from "./routes/health.js";
import { operatorApi } from "./routes/operator-api.js";
import { operatorLogs } from "./routes/operator-logs.js";
import { RAP_API_PREFIX, rapApi } from "./routes/rap-api.js";
import type { CreateJobs } from "./routes/rap-create.js";
import { readiness } from "./routes/readiness.js";
import { type DbStatusReported, taskApi } from "./routes/task-api.js";
import { traceRequests } from "./tracing.js";

export type { CreateJobs, CreateJobsResult } from "./routes/rap-create.js";

export interface AppDeps {
  config: Config;
  storage: Storage;
  /** The job-creation pipeline behind `rap/create/`. */
  createJobs: CreateJobs;
  /** Reads and renders `rap/status/` answers. */
  statusReader: StatusReader;
  /** The scheduler's rule for a DBSTATUS report (src/scheduler/db-status.ts), applied by the Task API. */
  dbStatusReported: DbStatusReported;
  clock?: Clock;
  /** The process log (src/app/logger.ts); no logging when absent. */
  log?: Logger;
  /** The name this process's scheduler takes the lease under (`/readyz` says whether it holds it); absent: none. */
  schedulerHolder?: string;
  /** Traces every request when given (src/telemetry/tracing.ts). */
  tracer?: Tracer;
  /** The controller's metrics, served at `/metrics` to operator tokens; absent: no metrics, no cost per request. */
  metrics?: ControllerMetrics;
  /**
   * Jobs' output as it is written, for the live-log stream: their containers on this machine (`rap serve`), or what
   * their agents send (LOGS_TO_CONTROLLER). Absent: the stream gives jobs' status only.
   */
  jobOutput?: JobOutput;
  /** Jobs' output sent by their agents (LOGS_TO_CONTROLLER=true); absent: the Task API takes none. */
  jobLogs?: JobLogBuffer;
  /**
   * Asks the scheduler for a pass now rather than after its pause: called once a create has committed new jobs, and
   * once an agent's update completes a task or moves it to another stage. A no-op when absent.
   */
  wakeScheduler?: () => void;
}

/** Where the operator endpoints live (besides /metrics and the dashboard's page). */
export const OPERATOR_PREFIX = "/operator";

/** Node's own limit on the time to receive a request's headers. */
const HEADERS_TIMEOUT_MS = 60_000;
/** How often Node looks for requests past their time (its default, 30 s, would let them run up to twice as long). */
const TIMEOUT_CHECK_MS = 1000;

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { limits } = deps.config;
  const app: FastifyInstance = Fastify({
    // A request, its body included, must arrive within REQUEST_TIMEOUT; the answer may take longer.
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    http: {
      headersTimeout: Math.min(HEADERS_TIMEOUT_MS, limits.requestTimeoutMs),
      connectionsCheckingInterval: Math.min(TIMEOUT_CHECK_MS, limits.requestTimeoutMs),
    },
    bodyLimit: limits.maxBodyBytes,
    clientErrorHandler: answerClientErrors(limits, () => app.log),
    frameworkErrors: (error, request, reply) => {
      noteErrorCode(request, answerFrameworkError(error, reply));
    },
    // pino's Logger is a FastifyBaseLogger; the cast keeps the app's type the default one.
    ...(deps.log ? { loggerInstance: deps.log as FastifyBaseLogger } : { logger: false }),
    // A line per request would cost more than a status answer; failed ones get theirs (failure-log.ts).
    logController: new LogController({ disableRequestLogging: true }),
    // HEAD is not GET here: the reference answers 405 to it.
    exposeHeadRoutes: false,
  });

  closeIdleConnectionsOnClose(app);
  if (deps.tracer) traceRequests(app, deps.tracer);
  if (deps.metrics) measureRequests(app, deps.metrics);
  if (deps.log) logFailedRequests(app);
  app.setReplySerializer(toAsciiJson);
  app.setErrorHandler((error, request, reply) => {
    const answer = apiErrorFor(error, limits);
    if (answer instanceof InternalError)
      request.log.error({ err: error }, "unexpected error answering a request");
    noteErrorCode(request, answer.code);
    return reply.code(answer.status).send(answer.body());
  });
  app.setNotFoundHandler((request, reply) => {
    const answer = new NotFoundError(request.method, request.url.split("?", 1)[0]!);
    noteErrorCode(request, answer.code);
    return reply.code(answer.status).send(answer.body());
  });

  const api = loadApiDocument();
  const clock = deps.clock ?? systemClock;
  const wakeScheduler = deps.wakeScheduler ?? (() => undefined);
  await app.register(health);
  await app.register((scope) =>
    readiness(scope, {
      lease: deps.storage.lease,
      schedulerHolder: deps.schedulerHolder,
      nowMs: () => clock.nowMs(),
    }),
  );
  await app.register(
    (scope) =>
      rapApi(scope, {
        storage: deps.storage,
        tokens: new ClientTokens(deps.config.clientTokens),
        api,
        now: () => nowSeconds(clock),
        createJobs: deps.createJobs,
        statusReader: deps.statusReader,
        limits,
        wakeScheduler,
      }),
    { prefix: RAP_API_PREFIX },
  );
  await app.register((scope) =>
    taskApi(scope, {
      config: deps.config,
      storage: deps.storage,
      clock,
      dbStatusReported: deps.dbStatusReported,
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
      jobLogs: deps.jobLogs,
      wakeScheduler,
    }),
  );
  if (deps.metrics) await metricsEndpoint(app, deps.config.operatorTokens, deps.metrics);
  await app.register((scope) => docs(scope, api), { prefix: RAP_API_PREFIX });
  await registerOperatorRoutes(
    app,
    deps.config.operatorTokens,
    async (scope) => {
      await operatorLogs(scope, { jobs: deps.storage.jobs, output: deps.jobOutput ?? null });
      await operatorApi(scope, { config: deps.config, storage: deps.storage, clock });
    },
    { prefix: OPERATOR_PREFIX },
  );
  if (deps.config.operatorTokens.length > 0) await app.register(dashboard);
  await app.ready();
  return app;
}
