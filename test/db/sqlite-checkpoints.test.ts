/**
 * SQLite checkpoints off the event loop (src/db/sqlite/checkpoints.ts): with them, a commit only appends to the
 * write-ahead log, and the checkpoint thread copies the log into the database file soon after. Without them, the
 * commit that filled the log past SQLite's default 1,000 pages copied and synced it itself (a large create did,
 * inside its request).
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, expect, test } from "vitest";
import { openStorage } from "../../src/db/open.js";
import { makeJob } from "../support/factories.js";

const dirs: string[] = [];

/**
 * The file's size once the thread has made its first checkpoint (the file grows: the migrations and the first create
 * were only in the log) and then none for longer than its 200 ms between checkpoints. Starting the thread takes a
 * while on a busy machine.
 */
async function settledSize(path: string): Promise<number> {
  const initial = statSync(path).size;
  const deadline = Date.now() + 60_000;
  while (statSync(path).size === initial && Date.now() < deadline) await sleep(20);
  let size = statSync(path).size;
  for (let unchanged = 0, tries = 0; unchanged < 6 && tries < 600; tries++) {
    await sleep(50);
    const now = statSync(path).size;
    unchanged = now === size ? unchanged + 1 : 0;
    size = now;
  }
  return size;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

test("after the first create, a commit of more than 1,000 pages leaves the checkpoint to the thread, which makes it soon after", async () => {
  const dir = mkdtempSync(join(tmpdir(), "rap-checkpoints-"));
  dirs.push(dir);
  const path = join(dir, "db.sqlite");
  const storage = await openStorage(
    { dialect: "sqlite", path },
    { migrate: true, backgroundCheckpoints: true },
  );
  try {
    // The first create starts the thread.
    await storage.withWorkspaceLock("test", "first", ({ jobs }) =>
      jobs.insert([makeJob({ workspace: "first" })]),
    );
    // About 6 MiB of rows: half as much again as SQLite's default checkpoint threshold.
    const command = `python:v2 analysis/step.py ${"--option ".repeat(100)}`;
    const jobs = Array.from({ length: 5000 }, (_, i) => makeJob({ action: `a${i}`, runCommand: command }));
    const before = await settledSize(path);
    await storage.withWorkspaceLock("test", "workspace", ({ jobs: store }) => store.insert(jobs));
    expect(statSync(path).size).toBe(before);
    const deadline = Date.now() + 60_000;
    const copied = before + 4 * 1024 * 1024;
    while (statSync(path).size <= copied && Date.now() < deadline) await sleep(20);
    expect(statSync(path).size).toBeGreaterThan(copied);
  } finally {
    await storage.close();
  }
}, 90_000);
