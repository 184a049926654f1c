/**
 * The operator dashboard's page at `/dashboard/` (DESIGN DECISIONS 18): plain HTML, CSS and JavaScript modules from
 * the package's `dashboard/` folder, no build step and nothing from elsewhere. The page holds nothing secret, so it is
 * served without a token (a browser cannot send one when it opens a URL); everything it shows comes from the
 * operator API (src/http/routes/operator-api.ts), which asks for one. Registered only with OPERATOR_TOKENS set.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { NotFoundError } from "../errors.js";

export const DASHBOARD_PATH = "/dashboard/";
const DASHBOARD_DIR = fileURLToPath(new URL("../../../dashboard/", import.meta.url));

/** The page's files: only these are served, so no request names a path of its own. */
const FILES: Readonly<Record<string, string>> = {
  "index.html": "text/html; charset=utf-8",
  "dashboard.css": "text/css; charset=utf-8",
  "dashboard.js": "text/javascript; charset=utf-8",
  "api.js": "text/javascript; charset=utf-8",
  "graph.js": "text/javascript; charset=utf-8",
};

/** A content-security policy that lets the page load only its own files and call only its own server. */
const CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'";

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

function loadAssets(): Map<string, Asset> {
  return new Map(
    Object.entries(FILES).map(([name, type]) => {
      const body = readFileSync(`${DASHBOARD_DIR}${name}`);
      return [
        name,
        { body, type, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"` },
      ];
    }),
  );
}

export async function dashboard(scope: FastifyInstance): Promise<void> {
  const assets = loadAssets();
  scope.get("/dashboard", async (_request, reply) => reply.redirect(DASHBOARD_PATH));
  const serve = async (request: FastifyRequest, reply: FastifyReply, name: string) => {
    const asset = assets.get(name);
    if (!asset) throw new NotFoundError(request.method, request.url.split("?", 1)[0]!);
    reply
      .header("content-type", asset.type)
      .header("etag", asset.etag)
      .header("cache-control", "no-cache")
      .header("content-security-policy", CSP)
      .header("x-content-type-options", "nosniff")
      .header("referrer-policy", "no-referrer");
    if (request.headers["if-none-match"] === asset.etag) return reply.code(304).send();
    return reply.send(asset.body);
  };
  scope.get(DASHBOARD_PATH, (request, reply) => serve(request, reply, "index.html"));
  scope.get(`${DASHBOARD_PATH}:file`, (request, reply) =>
    serve(request, reply, (request.params as { file: string }).file),
  );
}
