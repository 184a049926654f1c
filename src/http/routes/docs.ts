/**
 * The API's own documentation, without authentication (reference §7.1): `spec.json` (our OpenAPI document) and an
 * HTML page at `docs/` rendered by Swagger UI, whose assets ship inside @fastify/swagger-ui so the page works
 * offline.
 */
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance, FastifyPluginAsync } from "fastify";
import { stringify } from "yaml";
import type { ApiDocument } from "../openapi.js";

/**
 * Swagger UI reads the document from `fastify.swagger()`, which @fastify/swagger normally provides by generating a
 * document from the routes. Ours is written by hand, so this stand-in (declared under that plugin's name, which
 * Swagger UI requires, and not encapsulated, as fastify-plugin would do) hands it over as it is.
 */
function documentProvider(api: ApiDocument): FastifyPluginAsync {
  const provider: FastifyPluginAsync = async (instance) => {
    instance.decorate("swagger", (options?: { yaml?: boolean }) =>
      options?.yaml ? stringify(api.spec) : api.spec,
    );
  };
  return Object.assign(provider, {
    [Symbol.for("skip-override")]: true,
    [Symbol.for("plugin-meta")]: { name: "@fastify/swagger" },
  });
}

export async function docs(scope: FastifyInstance, api: ApiDocument): Promise<void> {
  scope.get("/spec.json", async (_request, reply) =>
    reply.type("application/json; charset=utf-8").send(api.specJson),
  );
  await scope.register(documentProvider(api));
  await scope.register(swaggerUi, { routePrefix: "/docs", theme: { title: "RAP API (v1)" } });
}
