/** Opening storage from a configured location (src/db/open.ts), the one place a dialect is chosen. */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import { DialectNotSupportedError, databaseExists, migrateDatabase, openStorage } from "../../src/db/open.js";

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

test("a PostgreSQL location is refused with a clear message, until PostgreSQL is implemented", async () => {
  const { database } = loadConfig({ WORKDIR: dir, DATABASE_URL: "postgresql://rap@127.0.0.1:1/rap" });
  await expect(openStorage(database)).rejects.toThrow(DialectNotSupportedError);
  await expect(openStorage(database)).rejects.toThrow(
    "DATABASE_URL names a PostgreSQL database, which this version does not support yet: set " +
      "DATABASE_URL=sqlite:PATH, or leave it unset for WORKDIR/db.sqlite",
  );
  expect(existsSync(join(dir, "postgresql:"))).toBe(false);
});
