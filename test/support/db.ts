import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Db, openDatabase } from "../../src/db/index.js";

/** A freshly migrated SQLite database in its own temp directory; `close()` removes it. */
export async function openTestDatabase(): Promise<{
  db: Db;
  dir: string;
  path: string;
  close(): Promise<void>;
}> {
  const dir = mkdtempSync(join(tmpdir(), "rap-db-"));
  const path = join(dir, "db.sqlite");
  const db = await openDatabase({ dialect: "sqlite", path }, { migrate: true });
  return {
    db,
    dir,
    path,
    close: async () => {
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
