import { resolve } from "node:path";
import type { Command } from "commander";
import { describeDatabase, loadConfig } from "../../config/index.js";
import { snapshotDatabase } from "../../db/open.js";
import { requireDatabase } from "../context.js";

export function registerSnapshotDb(program: Command): void {
  program
    .command("snapshot-db")
    .description(
      "write a consistent copy of the database to PATH while the server runs (SQLite online backup; PostgreSQL: use pg_dump)",
    )
    .argument("<path>", "the file to write")
    .option("--force", "replace PATH if it exists", false)
    .action(async (path: string, options: { force: boolean }) => {
      const config = loadConfig();
      requireDatabase(config);
      const target = resolve(path);
      const bytes = await snapshotDatabase(config.database, target, options.force);
      console.log(`Snapshot of ${describeDatabase(config.database)} written to ${target} (${bytes} bytes)`);
    });
}
