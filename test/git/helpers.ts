/** Settings and a log recorder for the git tests. */
import { join } from "node:path";
import type { GitLogger, GitSettings } from "../../src/git/index.js";

export interface RecordingLogger extends GitLogger {
  /** Every call, as `level message {fields}` JSON text. */
  readonly lines: string[];
}

export function recordingLogger(): RecordingLogger {
  const lines: string[] = [];
  const record = (level: string) => (fields: Record<string, unknown>, message: string) => {
    lines.push(`${level} ${message} ${JSON.stringify(fields)}`);
  };
  return { lines, debug: record("debug"), warn: record("warn") };
}

/** Settings for a cache under `workdir`; local repos allowed unless overridden. Retries are quick. */
export function testSettings(workdir: string, overrides: Partial<GitSettings> = {}): GitSettings {
  return {
    reposDir: join(workdir, "repos"),
    githubProxyDomain: "http://127.0.0.1:9",
    privateRepoAccessToken: "",
    allowedGithubOrgs: ["opensafely", "opensafely-actions"],
    allowLocalGitRepos: true,
    timeoutMs: 10_000,
    fetchRetryDelaysMs: [10, 10, 10, 10],
    ...overrides,
  };
}
