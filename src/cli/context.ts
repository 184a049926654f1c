import { type Config, configWarnings, loadConfig } from "../config/index.js";
import { openDatabase } from "../db/index.js";
import { SqliteStorage } from "../db/sqlite-storage.js";

/** Loads the configuration and opens (creating or upgrading) the database for the length of one command. */
export async function withStorage<T>(
  run: (storage: SqliteStorage, config: Config) => Promise<T>,
): Promise<T> {
  const config = loadConfig();
  const storage = new SqliteStorage(await openDatabase(config.database, { migrate: true }));
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
