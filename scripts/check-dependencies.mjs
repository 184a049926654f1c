// Keeps the dependency directions DESIGN.md sets: each rule names a folder of src/ and the folders of src/ it may
// not import from. Run by `npm run lint`; prints every violation with its file and exits non-zero.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const src = resolve(dirname(fileURLToPath(import.meta.url)), "..", "src");

/** folder → folders it must not import (everything of ours, for the pure ones, except what is listed as allowed). */
const PURE = {
  python: ["python"],
  domain: ["domain", "python"],
  pipeline: ["pipeline", "domain", "python"],
};
const FORBIDDEN = {
  db: ["http", "jobs", "scheduler", "agent", "app", "cli", "ops"],
  jobs: ["http", "app", "cli", "scheduler", "agent"],
  scheduler: ["http", "app", "cli", "agent"],
  agent: ["http", "db", "app", "cli", "scheduler", "jobs", "ops"],
  http: ["app", "cli", "scheduler", "agent"],
  git: ["http", "db", "jobs", "scheduler", "agent", "app", "cli"],
  registry: ["http", "db", "jobs", "scheduler", "agent", "app", "cli"],
  telemetry: ["http", "db", "jobs", "scheduler", "agent", "app", "cli"],
  config: ["http", "db", "jobs", "scheduler", "agent", "app", "cli", "ops"],
  ops: ["http", "app", "cli", "agent"],
  app: ["cli"],
};

/**
 * All that code above src/db may import of it: the role interfaces and the factory that opens them, so no SQL, Kysely
 * or dialect leaks upwards (docs/architecture.md, "Storage").
 */
const DB_ENTRY_POINTS = ["db/storage.js", "db/open.js"];

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}

const IMPORT =
  /(?:^|\n)\s*(?:import|export)[^'"]*?from\s+["'](\.[^"']+)["']|import\(\s*["'](\.[^"']+)["']\s*\)/g;
const violations = [];
for (const file of files(src)) {
  const folder = relative(src, file).split("/")[0];
  const text = readFileSync(file, "utf8");
  for (const match of text.matchAll(IMPORT)) {
    const target = relative(src, resolve(dirname(file), match[1] ?? match[2]));
    const targetFolder = target.split("/")[0];
    if (targetFolder === folder || target.startsWith("..")) continue;
    const pure = PURE[folder];
    const bad = pure ? !pure.includes(targetFolder) : (FORBIDDEN[folder] ?? []).includes(targetFolder);
    if (bad) violations.push(`${relative(resolve(src, ".."), file)}: ${folder}/ must not import ${target}`);
    else if (targetFolder === "db" && !DB_ENTRY_POINTS.includes(target))
      violations.push(
        `${relative(resolve(src, ".."), file)}: ${folder}/ may import only ${DB_ENTRY_POINTS.join(" and ")} of db/, not ${target}`,
      );
  }
}
if (violations.length > 0) {
  console.error(`Dependency rules (DESIGN.md) broken:\n  ${violations.join("\n  ")}`);
  process.exit(1);
}
console.log("dependency rules: ok");
