import { existsSync } from "node:fs";
import type { Command } from "commander";
import { loadConfig } from "../../config/index.js";
import { migrateToLatest, openDatabase } from "../../db/index.js";

export function registerMigrate(program: Command): void {
  program
    .command("migrate")
    .description("create the database, or upgrade it to the latest schema")
    .action(async () => {
      const config = loadConfig();
      const { path } = config.database;
      const existed = existsSync(path);
      const db = await openDatabase(config.database);
      try {
        const applied = await migrateToLatest(db);
        if (!existed) console.log(`created new db at ${path}`);
        else if (applied.length > 0) console.log(`applied migrations ${applied.join(", ")} to ${path}`);
        else console.log(`db ${path} is up to date`);
      } finally {
        await db.destroy();
      }
    });
}
