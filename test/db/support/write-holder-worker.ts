/**
 * A thread that holds SQLite's write lock on request (test/db/write-gate.test.ts): it opens the database at
 * `workerData.path` (taking turns at `workerData.writeGate` when given one), and on `{ holdMs }` writes a flag in a
 * transaction that stays open that long, saying "holding" once it has the lock and "released" once it committed.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { parentPort, workerData } from "node:worker_threads";
import { openStorage } from "../../../src/db/open.js";

const { path, writeGate } = workerData as { path: string; writeGate?: SharedArrayBuffer };
const storage = await openStorage({ dialect: "sqlite", path }, writeGate ? { writeGate } : {});
const port = parentPort!;
port.on("message", async (message: { holdMs?: number; close?: true }) => {
  if (message.close) {
    await storage.close();
    port.close();
    return;
  }
  await storage.transaction(async (stores) => {
    await stores.flags.set("test", "holder", "held", 1);
    port.postMessage("holding");
    await sleep(message.holdMs);
  });
  port.postMessage("released");
});
port.postMessage("ready");
