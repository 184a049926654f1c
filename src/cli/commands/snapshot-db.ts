import { resolve } from "node:path";
import type { Command } from "commander";

export function registerSnapshotDb(program: Command): void {
  program
    .command("snapshot-db")
    .description(
      "write a consistent copy of the database to PATH while the server runs (SQLite online backup; PostgreSQL: use pg_dump)",
    )
    .argument("<path>", "the file to write")
    .option("--force", "replace PATH if it exists", false)
    .action(async (path: string, options: { force: boolean }) => {
      const { describeDatabase, loadConfig } = await import("../../config/index.js");
      const { snapshotDatabase } = await import("../../db/open.js");
      const { requireDatabase } = await import("../context.js");
      const config = loadConfig();
      requireDatabase(config);
      const target = resolve(path);
      const bytes = await snapshotDatabase(config.database, target, options.force);
      console.log(`Snapshot of ${describeDatabase(config.database)} written to ${target} (${bytes} bytes)`);
    });
}
