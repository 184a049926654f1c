import { SqliteStorage } from "../../src/db/sqlite-storage.js";
import { openTestDatabase } from "../support/db.js";
import { storageConformance } from "./storage-conformance.js";

storageConformance("SQLite", async () => {
  const database = await openTestDatabase();
  return { storage: new SqliteStorage(database.db), close: database.close };
});
