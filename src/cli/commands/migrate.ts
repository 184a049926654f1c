import type { Command } from "commander";

export function registerMigrate(program: Command): void {
  program
    .command("migrate")
    .description("create the database, or upgrade it to the latest schema")
    .action(async () => {
      const { describeDatabase, loadConfig } = await import("../../config/index.js");
      const { migrateDatabase } = await import("../../db/open.js");
      const config = loadConfig();
      const where = describeDatabase(config.database);
      const { created, applied } = await migrateDatabase(config.database);
      if (created) console.log(`created new db at ${where}`);
      else if (applied.length > 0) console.log(`applied migrations ${applied.join(", ")} to ${where}`);
      else console.log(`db ${where} is up to date`);
    });
}
