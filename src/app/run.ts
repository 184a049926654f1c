/**
 * Runs the controller as a server process: listens on HOST:PORT, runs the scheduler loop, and on SIGINT or SIGTERM
 * stops taking work, lets the pass and the requests in flight finish, and closes everything. A second signal, or a
 * shutdown taking longer than SHUTDOWN_GRACE_MS, ends the process at once.
 */
import type { Logger } from "pino";
import type { Config } from "../config/index.js";
import { RAP_API_PREFIX } from "../http/routes/rap-api.js";
import { type Controller, type ControllerOptions, openController } from "./controller.js";

const SHUTDOWN_GRACE_MS = 10_000;

/** Where the API documentation is served: a page that answers, unlike the bare API prefix. */
export function docsUrl(baseUrl: string): string {
  return `${baseUrl}${RAP_API_PREFIX}/docs/`;
}

export interface RunOptions extends ControllerOptions {
  /** Run the scheduler loop in this process (the default); off for an API-only process. */
  scheduler?: boolean;
}

/**
 * Resolves once SIGINT or SIGTERM has arrived and `close` has finished. A second signal, or `close` taking longer
 * than SHUTDOWN_GRACE_MS, ends the process with exit code 1.
 */
export function untilShutdownSignal(log: Logger, close: () => Promise<void>): Promise<void> {
  return new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) process.exit(1);
      stopping = true;
      log.info(`${signal} received: shutting down`);
      setTimeout(() => process.exit(1), SHUTDOWN_GRACE_MS).unref();
      close().then(resolve);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

/** Listens on HOST:PORT (closing the controller if that fails) and returns the base URL, `http://host:port`. */
export async function listen(controller: Controller): Promise<string> {
  const { app, config } = controller;
  try {
    return await app.listen({
      host: config.host,
      port: config.port,
      listenTextResolver: (address) => `RAP API listening at ${docsUrl(address)} (its documentation)`,
    });
  } catch (error) {
    await controller.close();
    throw error;
  }
}

/** Serves until a shutdown signal; resolves once everything is closed. */
export async function runController(config: Config, options: RunOptions = {}): Promise<void> {
  const controller = await openController(config, options);
  const { log, scheduler } = controller;
  const stopped = untilShutdownSignal(log, () => controller.close());
  await listen(controller);
  if (options.scheduler ?? true) {
    scheduler.start();
    log.info(`scheduler running every ${config.scheduler.loopIntervalMs / 1000} s`);
  }
  await stopped;
}
