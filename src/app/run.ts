/**
 * Runs the controller as a server process: listens on HOST:PORT, runs the scheduler loop, and on SIGINT or SIGTERM
 * stops taking work, lets the pass and the requests in flight finish, and closes everything. A second signal, or a
 * shutdown taking longer than SHUTDOWN_GRACE_MS, ends the process at once.
 */
import type { Config } from "../config/index.js";
import { RAP_API_PREFIX } from "../http/routes/rap-api.js";
import { type ControllerOptions, openController } from "./controller.js";

const SHUTDOWN_GRACE_MS = 10_000;

export interface RunOptions extends ControllerOptions {
  /** Run the scheduler loop in this process (the default); off for an API-only process. */
  scheduler?: boolean;
}

/** Serves until a shutdown signal; resolves once everything is closed. */
export async function runController(config: Config, options: RunOptions = {}): Promise<void> {
  const controller = await openController(config, options);
  const { app, log, scheduler } = controller;
  const stopped = new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) process.exit(1);
      stopping = true;
      log.info(`${signal} received: shutting down`);
      setTimeout(() => process.exit(1), SHUTDOWN_GRACE_MS).unref();
      controller.close().then(resolve);
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
    await controller.close();
    throw error;
  }
  if (options.scheduler ?? true) {
    scheduler.start();
    log.info(`scheduler running every ${config.scheduler.loopIntervalMs / 1000} s`);
  }
  await stopped;
}
