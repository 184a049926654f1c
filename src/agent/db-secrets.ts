/**
 * Database secrets for a job that may read the database (reference/agent.md §2.9). They are added to the job's
 * environment only when it starts, never stored with the task, and redacted from the stored container description.
 */
import type { AgentConfig } from "../config/agent.js";
import type { JobDefinition } from "../domain/task.js";
import { UnknownDatabaseError } from "./errors.js";

export type DbSecretSettings = Pick<
  AgentConfig,
  "usingDummyDataBackend" | "databaseUrls" | "tempDatabaseName" | "prestoTls" | "emisOrganisationHash"
>;

/** The variables to add to a database job's environment: none on a dummy-data backend. */
export function dbSecrets(job: JobDefinition, settings: DbSecretSettings): Record<string, string> {
  if (!job.allow_database_access || settings.usingDummyDataBackend) return {};
  // A database job always names its database; `default` stands in should a controller leave it out.
  const url = settings.databaseUrls[job.database_name ?? "default"];
  if (url === undefined) {
    throw new UnknownDatabaseError(job.database_name, job.env.OPENSAFELY_BACKEND ?? "");
  }
  const env: Record<string, string> = { DATABASE_URL: url };
  if (settings.tempDatabaseName) env.TEMP_DATABASE_NAME = settings.tempDatabaseName;
  if (settings.prestoTls) {
    env.PRESTO_TLS_CERT = settings.prestoTls.cert;
    env.PRESTO_TLS_KEY = settings.prestoTls.key;
  }
  if (settings.emisOrganisationHash) env.EMIS_ORGANISATION_HASH = settings.emisOrganisationHash;
  return env;
}
