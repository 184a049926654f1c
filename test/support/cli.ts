import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { repoRoot } from "./requirements.js";

export const cliPath = resolve(repoRoot, "dist", "cli", "main.js");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built `rap` command as a user would, with only the given environment (plus PATH), so the developer's
 * own variables never leak into a test; in `cwd` when given (else the test's own directory).
 */
export function runCli(
  args: string[],
  env: Record<string, string>,
  input?: string,
  cwd?: string,
): Promise<CliResult> {
  return new Promise((resolvePromise) => {
    const child = execFile(
      process.execPath,
      [cliPath, ...args],
      { env: { PATH: process.env.PATH ?? "", ...env }, timeout: 30_000, ...(cwd ? { cwd } : {}) },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolvePromise({ code, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}
