/** Opening storage from a configured location (src/db/open.ts), the one place a dialect is chosen. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import { databaseExists, migrateDatabase, openStorage } from "../../src/db/open.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "rap-open-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("an SQLite location opens storage with every role, the status reader included", async () => {
  const { database } = loadConfig({ WORKDIR: dir });
  expect(databaseExists(database)).toBe(false);
  expect(await migrateDatabase(database)).toMatchObject({ created: true });
  expect(databaseExists(database)).toBe(true);
  const storage = await openStorage(database, { migrate: true, statusWorkers: 1 });
  try {
    expect(await storage.jobs.list({ limit: 1 })).toEqual([]);
    const parts = await storage.status.read(["abcdefgh23456789"], ["test"]);
    expect(parts.map((part) => [Buffer.from(part.json).toString(), part.rapIds])).toEqual([["", []]]);
  } finally {
    await storage.close();
  }
});
