import { execFileSync } from "node:child_process";
import { resolve } from "node:path";

/**
 * Compiles src/ to dist/ once before any test file runs, so tests that spawn the real `rap` command always run the
 * current code. Incremental, so an unchanged tree costs about a second.
 */
export default function setup(): void {
  const root = resolve(import.meta.dirname, "..", "..");
  execFileSync(
    process.execPath,
    [resolve(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
    {
      cwd: root,
      stdio: "inherit",
    },
  );
}
