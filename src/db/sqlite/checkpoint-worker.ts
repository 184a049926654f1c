/**
 * The checkpoint thread (./checkpoints.ts): its own connection to the database file, copying what commits have
 * appended to the write-ahead log into the file every `intervalMs`. A PASSIVE checkpoint never waits for a writer or
 * a reader, and blocks neither: it copies what it can and leaves the rest to the next one.
 */
import { parentPort, workerData } from "node:worker_threads";
import SqliteDatabase from "better-sqlite3";

const { path, intervalMs } = workerData as { path: string; intervalMs: number };
const db = new SqliteDatabase(path);
// This connection writes nothing; it must not try to checkpoint on its own account either.
db.pragma("wal_autocheckpoint = 0");
const timer = setInterval(() => db.pragma("wal_checkpoint(PASSIVE)"), intervalMs);

parentPort!.on("message", (message: "close") => {
  if (message !== "close") return;
  clearInterval(timer);
  db.close();
  parentPort!.close();
});
