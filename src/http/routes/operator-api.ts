/**
 * The dashboard's read-only JSON (DESIGN DECISIONS 18), under /operator/api/ behind the operator gate
 * (src/http/operator-auth.ts): nothing here changes state. Answers carry an ETag, and a poll that sends it back gets
 * 304 while nothing changed, so a dashboard left open costs little.
 * - `GET overview`: every backend with its flags, mode and last seen, and its running jobs and queue;
 * - `GET raps`: the RAPs of the latest jobs, newest first;
 * - `GET raps/{rap_id}`: a RAP's jobs as a graph (needs as edges) with states and timings;
 * - `GET jobs/{id}`: one job as `rap/status/` shows it (metrics included), with its needs and run command.
 */
import { createHash } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Config } from "../../config/index.js";
import type { Storage } from "../../db/storage.js";
import { type Clock, nowSeconds } from "../../domain/clock.js";
import { backendViews, jobSummary, queueViews, rapGraph, rapSummaries } from "../../ops/dashboard-views.js";
import { NotFoundError } from "../errors.js";

export interface OperatorApiDeps {
  config: Config;
  storage: Storage;
  clock: Clock;
}

/** How many of the latest jobs `raps` looks through, and the most jobs of one RAP it draws. */
const RECENT_JOBS = 500;
const MAX_RAP_JOBS = 2000;

/** JSON with an ETag; 304 when the request already holds this answer. */
function sendJson(request: FastifyRequest, reply: FastifyReply, value: unknown) {
  const body = JSON.stringify(value);
  const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`;
  reply.header("etag", etag).header("cache-control", "no-cache");
  if (request.headers["if-none-match"] === etag) return reply.code(304).send();
  return reply.type("application/json; charset=utf-8").send(body);
}

export async function operatorApi(scope: FastifyInstance, deps: OperatorApiDeps): Promise<void> {
  const { storage, config } = deps;
  const now = () => nowSeconds(deps.clock);
  const notFound = (request: FastifyRequest) =>
    new NotFoundError(request.method, request.url.split("?", 1)[0]!);

  scope.get("/api/overview", async (request, reply) => {
    const [flags, active] = await Promise.all([storage.flags.all(), storage.jobs.active()]);
    return sendJson(request, reply, {
      backends: backendViews(config.backends, flags, active),
      queues: queueViews(config.backends, active, now()),
    });
  });

  scope.get("/api/raps", async (request, reply) => {
    const latest = await storage.jobs.list({ limit: RECENT_JOBS });
    return sendJson(request, reply, { raps: rapSummaries(latest) });
  });

  scope.get("/api/raps/:rapId", async (request, reply) => {
    const { rapId } = request.params as { rapId: string };
    const jobs = await storage.jobs.list({ rapId, limit: MAX_RAP_JOBS });
    if (jobs.length === 0) throw notFound(request);
    return sendJson(request, reply, { rap_id: rapId, jobs: rapGraph(jobs, now()) });
  });

  scope.get("/api/jobs/:id", async (request, reply) => {
    const { id } = request.params as { id: string };
    const job = await storage.jobs.get(id);
    if (!job) throw notFound(request);
    // The status reader renders the job as rap/status/ does, metrics included.
    const parts = await storage.status.read([job.rapId], [job.backend]);
    const rendered = parts.flatMap(
      (part) => JSON.parse(`[${Buffer.from(part.json).toString("utf8")}]`) as Array<{ identifier?: string }>,
    );
    return sendJson(request, reply, {
      job: jobSummary(job, now()),
      needs: job.waitForJobIds,
      run_command: job.runCommand,
      status: rendered.find((entry) => entry.identifier === id) ?? null,
    });
  });
}
