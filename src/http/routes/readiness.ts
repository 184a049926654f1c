/**
 * `/readyz` (ours, not the reference's: `/` stays its health check): for load balancers and operators. 200 when the
 * database answers, saying whether this replica's scheduler holds the lease; 503 with a reason when it does not
 * answer in time. Unauthenticated, so it tells nothing an outsider could use: no database URL or host and no error
 * text (the error goes to the log), only an error code such as ECONNREFUSED or a SQLSTATE.
 */
import type { FastifyInstance } from "fastify";
import { type LeaseStore, StorageUnavailableError } from "../../db/storage.js";

export interface ReadinessDeps {
  lease: LeaseStore;
  /** The name this process's scheduler takes the lease under; absent when it runs none. */
  schedulerHolder: string | undefined;
  nowMs: () => number;
}

/** A load balancer's check gives up after a few seconds: answer before then rather than at the statement timeout. */
export const READINESS_TIMEOUT_MS = 2000;

/** An error code safe to show: a driver's errno name or a SQLSTATE, never a message (it may name the host). */
const SAFE_CODE = /^[A-Z0-9_]{1,32}$/;

class Unanswered extends Error {}

function withinTimeout<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Unanswered()), READINESS_TIMEOUT_MS);
  });
  // Past the timeout the query's own failure, if it comes, has no one to tell.
  work.catch(() => undefined);
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function reasonFor(error: unknown): string {
  if (error instanceof Unanswered)
    return `the database did not answer within ${READINESS_TIMEOUT_MS / 1000} s`;
  // A lost connection is wrapped (StorageUnavailableError); the operator wants the reason under it (ECONNREFUSED).
  const reason = error instanceof StorageUnavailableError && error.cause !== undefined ? error.cause : error;
  const code = (reason as { code?: unknown }).code;
  return typeof code === "string" && SAFE_CODE.test(code)
    ? `the database query failed: ${code}`
    : "the database query failed";
}

export async function readiness(scope: FastifyInstance, deps: ReadinessDeps): Promise<void> {
  scope.get("/readyz", async (request, reply) => {
    try {
      const lease = await withinTimeout(deps.lease.current());
      const holds =
        deps.schedulerHolder !== undefined &&
        lease?.holder === deps.schedulerHolder &&
        lease.expiresAtMs > deps.nowMs();
      return { database: "ok", scheduler_lease: holds };
    } catch (error) {
      request.log.warn({ err: error }, "readiness: the database did not answer");
      return reply
        .code(503)
        .send({ database: "unavailable", scheduler_lease: false, reason: reasonFor(error) });
    }
  });
}
