import { type Config, configWarnings, describeDatabase, loadConfig } from "../config/index.js";
import { databaseExists, openStorage } from "../db/open.js";
import type { Storage } from "../db/storage.js";

export class DatabaseNotFoundError extends Error {
  readonly code = "DATABASE_NOT_FOUND";
  constructor(where: string) {
    super(
      `No database at ${where}. Operator commands act on the server's database: set WORKDIR (or DATABASE_URL) as ` +
        "the server has it, or run the command from the directory that holds the server's ./workdir. " +
        "`rap migrate` creates a new database.",
    );
  }
}

/**
 * The configured database's file, which must exist: run from the wrong directory, or with WORKDIR unset, an operator
 * command would otherwise create a second, empty database and act on it without a word (the reference's `flags`
 * refuses a missing table the same way). Only `rap migrate` and the servers create a database.
 */
export function requireDatabase(config: Config): void {
  if (!databaseExists(config.database)) throw new DatabaseNotFoundError(describeDatabase(config.database));
}

/** Loads the configuration and opens (upgrading) the existing database for the length of one command. */
export async function withStorage<T>(run: (storage: Storage, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  requireDatabase(config);
  const storage = await openStorage(config.database, { migrate: true });
  try {
    return await run(storage, config);
  } finally {
    await storage.close();
  }
}

/** Prints configuration warnings to stderr (they never contain a secret). */
export function warnAboutConfig(config: Config): void {
  for (const warning of configWarnings(config)) console.error(`warning: ${warning}`);
}

export class UnknownBackendError extends Error {
  readonly code = "UNKNOWN_BACKEND";
}

/** Backend arguments must name a configured backend (case-insensitive, as the reference lowercases them). */
export function backendArgument(config: Config, name: string): string {
  const backend = name.toLowerCase();
  if (!config.backends.includes(backend)) {
    throw new UnknownBackendError(`Unknown backend '${name}', allowed are: ${config.backends.join(", ")}`);
  }
  return backend;
}
