/** `/`: the reference's health check, answering any GET or POST with the method it saw (S150). */
import type { FastifyInstance } from "fastify";
import { acceptRawBodies } from "../raw-body.js";

export async function health(scope: FastifyInstance): Promise<void> {
  acceptRawBodies(scope);
  scope.route({
    method: ["GET", "POST"],
    url: "/",
    handler: async (request) => ({ method: request.method }),
  });
}
