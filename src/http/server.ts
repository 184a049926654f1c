/**
 * Runs the HTTP app as a server process: opens (and migrates) the database, listens on HOST:PORT, and on SIGINT or
 * SIGTERM stops accepting connections, lets requests in flight finish, and closes the database. A second signal,
 * or a shutdown taking longer than SHUTDOWN_GRACE_MS, ends the process at once.
 */
import type { FastifyInstance } from "fastify";
import type { Config } from "../config/index.js";
import { openDatabase } from "../db/index.js";
import { jobCreator } from "../jobs/index.js";
import { startTracing } from "../telemetry/tracing.js";
import { buildApp } from "./app.js";
import { RAP_API_PREFIX } from "./routes/rap-api.js";

const SHUTDOWN_GRACE_MS = 10_000;

export interface ServerOptions {
  config: Config;
  logLevel?: string;
}

/** Serves until a shutdown signal; resolves once everything is closed. */
export async function runServer(options: ServerOptions): Promise<void> {
  const { config } = options;
  const db = await openDatabase(config.database, { migrate: true });
  let app: FastifyInstance | undefined; // assigned below; until then no span exists, so none can fail
  const tracing = startTracing(config.telemetry, "controller", (error) =>
    app?.log.warn({ err: error }, "could not send spans"),
  );
  app = await buildApp({
    config,
    db,
    createJobs: jobCreator(db, config),
    logLevel: options.logLevel ?? "info",
    tracer: tracing?.tracer("http"),
  });
  // Spans still buffered are sent before the process ends; a failure to send is logged, never fatal.
  const stopTracing = () =>
    tracing
      ?.shutdown()
      .catch((error: unknown) => app.log.warn({ err: error }, "could not send the last spans"));

  const stopped = new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) process.exit(1);
      stopping = true;
      app.log.info(`${signal} received: shutting down`);
      setTimeout(() => process.exit(1), SHUTDOWN_GRACE_MS).unref();
      app
        .close()
        .then(() => db.destroy())
        .then(stopTracing)
        .then(resolve, (error: unknown) => {
          app.log.error({ err: error }, "error while shutting down");
          process.exit(1);
        });
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });

  try {
    await app.listen({
      host: config.host,
      port: config.port,
      listenTextResolver: (address) => `RAP API listening at ${address}${RAP_API_PREFIX}/`,
    });
  } catch (error) {
    await app.close();
    await db.destroy();
    await stopTracing();
    throw error;
  }
  await stopped;
}
