/**
 * The HTTP app: health check at `/`, the RAP API and its documentation under /controller/v1/. `buildApp` only
 * builds a ready Fastify instance from explicit dependencies; listening, signals and shutdown belong to the caller
 * (server.ts for the CLI, `app.inject` in tests).
 *
 * Every answer is JSON (a 405's empty body aside): unknown paths get a JSON 404 and failures a JSON error, and the
 * client token is never logged.
 */

import { availableParallelism } from "node:os";
import type { Tracer } from "@opentelemetry/api";
import Fastify, { type FastifyInstance, LogController } from "fastify";
import type { Config } from "../config/index.js";
import { type Db, databaseFile } from "../db/index.js";
import { nowSeconds } from "../domain/time.js";
import { ClientTokens } from "./auth.js";
import { answerClientErrors, answerFrameworkError } from "./client-errors.js";
import { apiErrorFor, InternalError, NotFoundError } from "./errors.js";
import { toAsciiJson } from "./json.js";
import { loadApiDocument } from "./openapi.js";
import { docs } from "./routes/docs.js";
import { health } from "./routes/health.js";
import { RAP_API_PREFIX, rapApi } from "./routes/rap-api.js";
import type { CreateJobs } from "./routes/rap-create.js";
import { StatusWorkers } from "./status/workers.js";
import { traceRequests } from "./tracing.js";

export type { CreateJobs, CreateJobsResult } from "./routes/rap-create.js";

export interface AppDeps {
  config: Config;
  db: Db;
  /** The job-creation pipeline; without it `rap/create/` answers that creation is not available. */
  createJobs: CreateJobs;
  /** Whole Unix seconds (tests pin it). */
  now?: () => number;
  /** A pino level (`info`, `debug`, …) to log at; no logging when absent. */
  logLevel?: string;
  /** Traces every request when given (src/telemetry/tracing.ts). */
  tracer?: Tracer;
  /**
   * Worker threads rendering large rap/status answers (src/http/status/workers.ts): by default one per core, at
   * most four; 0 for none. Only for a database file that openDatabase opened.
   */
  statusWorkers?: number;
}

const MAX_STATUS_WORKERS = 4;
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
    frameworkErrors: answerFrameworkError,
    logger: deps.logLevel
      ? { level: deps.logLevel, redact: { paths: ["req.headers.authorization"], censor: "[redacted]" } }
      : false,
    // A line per request would cost more than a status answer; failures are logged where they happen.
    logController: new LogController({ disableRequestLogging: true }),
    // HEAD is not GET here: the reference answers 405 to it.
    exposeHeadRoutes: false,
  });

  if (deps.tracer) traceRequests(app, deps.tracer);
  app.setReplySerializer(toAsciiJson);
  app.setErrorHandler((error, request, reply) => {
    const answer = apiErrorFor(error, limits);
    if (answer instanceof InternalError)
      request.log.error({ err: error }, "unexpected error answering a request");
    return reply.code(answer.status).send(answer.body());
  });
  app.setNotFoundHandler((request, reply) => {
    const answer = new NotFoundError(request.method, request.url.split("?", 1)[0]!);
    return reply.code(answer.status).send(answer.body());
  });

  const api = loadApiDocument();
  const file = databaseFile(deps.db);
  const workerCount = deps.statusWorkers ?? Math.min(MAX_STATUS_WORKERS, availableParallelism());
  const statusWorkers = file && workerCount > 0 ? new StatusWorkers(file, workerCount) : undefined;
  if (statusWorkers) app.addHook("onClose", () => statusWorkers.close());
  await app.register(health);
  await app.register(
    (scope) =>
      rapApi(scope, {
        db: deps.db,
        tokens: new ClientTokens(deps.config.clientTokens),
        api,
        now: deps.now ?? nowSeconds,
        createJobs: deps.createJobs,
        statusWorkers,
        limits,
      }),
    { prefix: RAP_API_PREFIX },
  );
  await app.register((scope) => docs(scope, api), { prefix: RAP_API_PREFIX });
  await app.ready();
  return app;
}
