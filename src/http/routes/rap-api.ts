/**
 * The RAP API under /controller/v1/ (reference §7.1). Checks run in the reference's order: the method (405, empty
 * body, before anything else), the client token (401, before the body is read), the body's JSON (400), its schema
 * (400), then the endpoint itself. Paths without their trailing slash redirect (301) to it, as Django does.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from "fastify";
import type { Limits } from "../../config/index.js";
import type { StatusReader, Storage } from "../../db/storage.js";
import type { JsonObject } from "../../python/json-loads.js";
import type { ClientTokens } from "../auth.js";
import { parseBody, validated, validBody } from "../body.js";
import { TooManyRapIdsError } from "../errors.js";
import type { ApiDocument } from "../openapi.js";
import { acceptRawBodies } from "../raw-body.js";
import { backendStatus } from "./backend-status.js";
import { cancelRap } from "./rap-cancel.js";
import { type CreateJobs, createRap, createRequestFromBody } from "./rap-create.js";
import { rapStatus, unreadableTimesLogger } from "./rap-status.js";

declare module "fastify" {
  interface FastifyRequest {
    /** The backends the request's client token may see, set by the RAP API's token check. */
    tokenBackends: readonly string[];
  }
}

export const RAP_API_PREFIX = "/controller/v1";

export interface RapApiDeps {
  storage: Storage;
  tokens: ClientTokens;
  api: ApiDocument;
  /** Whole Unix seconds. */
  now: () => number;
  createJobs: CreateJobs;
  statusReader: StatusReader;
  limits: Pick<Limits, "maxBodyBytes" | "maxStatusRapIds">;
  /** Asks the scheduler for a pass now (once a create has committed jobs). */
  wakeScheduler: () => void;
}

const ALL_METHODS: readonly HTTPMethods[] = [
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "PATCH",
  "OPTIONS",
  "TRACE",
];

export async function rapApi(scope: FastifyInstance, deps: RapApiDeps): Promise<void> {
  const { storage, tokens, api, now, createJobs, statusReader, limits } = deps;
  // Null only until the token check, which every endpoint runs first (reference values may not be shared).
  scope.decorateRequest("tokenBackends", null as unknown as readonly string[]);

  acceptRawBodies(scope);
  const reportUnreadableTimes = unreadableTimesLogger(scope.log);

  // A callback hook, not an async one: no promise per request on the hot endpoints.
  const authenticate = (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void) => {
    try {
      request.tokenBackends = tokens.backendsFor(request.headers.authorization);
    } catch (error) {
      return done(error as Error);
    }
    done();
  };
  const bytes = (request: FastifyRequest) => request.body as Buffer | undefined;

  const endpoint = (
    method: HTTPMethods,
    url: string,
    handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>,
  ) => {
    scope.route({ method, url, onRequest: authenticate, bodyLimit: limits.maxBodyBytes, handler });
    // Answering in onRequest refuses the request before its body is read; Fastify still wants a handler.
    const refuse = async (_request: FastifyRequest, reply: FastifyReply) =>
      reply.code(405).header("allow", method).send();
    scope.route({ method: ALL_METHODS.filter((m) => m !== method), url, onRequest: refuse, handler: refuse });
    const target = `${RAP_API_PREFIX}${url}`;
    const redirect = async (request: FastifyRequest, reply: FastifyReply) => {
      const query = request.url.includes("?") ? request.url.slice(request.url.indexOf("?")) : "";
      return reply
        .code(301)
        .header("location", target + query)
        .send({ error: "Moved permanently", details: `Use ${target}` });
    };
    scope.route({ method: [...ALL_METHODS], url: url.slice(0, -1), onRequest: redirect, handler: redirect });
  };

  const statusOf = backendStatus(storage);
  endpoint("GET", "/backend/status/", async (request, reply) =>
    reply.type("application/json; charset=utf-8").send(await statusOf(request.tokenBackends)),
  );

  endpoint("POST", "/rap/status/", async (request, reply) => {
    const parsed = parseBody(bytes(request));
    // Counted before validation, which would otherwise walk every one of a hostile number of ids.
    const requested = parsed instanceof Map ? parsed.get("rap_ids") : undefined;
    if (Array.isArray(requested) && requested.length > limits.maxStatusRapIds) {
      throw new TooManyRapIdsError(requested.length, limits.maxStatusRapIds);
    }
    const body = validated(parsed, api.validators.status) as JsonObject;
    const rapIds = body.get("rap_ids") as string[];
    const answer = await rapStatus(statusReader, rapIds, request.tokenBackends, reportUnreadableTimes);
    return reply.type("application/json; charset=utf-8").send(answer);
  });

  endpoint("POST", "/rap/cancel/", async (request) => {
    const body = validBody(bytes(request), api.validators.cancel) as JsonObject;
    const cancel = { rapId: body.get("rap_id") as string, actions: body.get("actions") as string[] };
    return cancelRap(storage.jobs, cancel, request.tokenBackends, now());
  });

  endpoint("POST", "/rap/create/", async (request, reply) => {
    const body = validBody(bytes(request), api.validators.create) as JsonObject;
    const answer = await createRap(
      storage.jobs,
      createJobs,
      createRequestFromBody(body),
      request.tokenBackends,
      request.log,
      deps.wakeScheduler,
    );
    return reply.code(answer.status).send(answer.body);
  });
}
