/**
 * The write gate (src/db/sqlite/write-gate.ts): turns in the order asked, waited for without blocking, taken anyway
 * once patience runs out; and, with real threads on one SQLite file, a thread waiting to write keeps its event loop
 * running while another holds the write lock (without the gate, SQLite's busy handler stalls it).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import { newWriteGate, openStorage } from "../../src/db/open.js";
import { WriteGate } from "../../src/db/sqlite/write-gate.js";
import { startWorker } from "../../src/threads/start.js";

describe("WriteGate", () => {
  it("gives turns in the order they were asked for, each once the one before has ended", async () => {
    const first = WriteGate.create(60_000);
    // Another thread's view of the same memory.
    const second = new WriteGate(first.buffer, 60_000);
    const order: string[] = [];
    const a = await first.enter();
    const b = second.enter().then((turn) => {
      order.push("b");
      return turn;
    });
    const c = first.enter().then((turn) => {
      order.push("c");
      return turn;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(order).toEqual([]);
    first.leave(a);
    second.leave(await b);
    first.leave(await c);
    expect(order).toEqual(["b", "c"]);
    // Free again: the next turn comes at once.
    first.leave(await first.enter());
  });

  it("takes a turn that does not come within its patience, and an overtaken turn's end hands on nothing", async () => {
    const gate = WriteGate.create(50);
    const stuck = await gate.enter(); // Never left: a thread that died holding it.
    const started = performance.now();
    const late = await gate.enter();
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    // The stuck holder ends after all: the turn stays the late one's, so the next waiter still waits for it.
    gate.leave(stuck);
    let next = false;
    const after = gate.enter().then((turn) => {
      next = true;
      return turn;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(next).toBe(false);
    gate.leave(late);
    gate.leave(await after);
    expect(next).toBe(true);
  });
});

describe("two threads writing one SQLite file", () => {
  let dir: string | undefined;
  let worker: Worker | undefined;
  afterEach(async () => {
    worker?.postMessage({ close: true });
    await worker?.terminate();
    worker = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Event-loop ticks (every 5 ms) seen on this thread while it writes behind a 400 ms hold of the other's. */
  async function ticksWhileWaiting(
    gated: boolean,
  ): Promise<{ ticks: number; value: string | null | undefined }> {
    dir = mkdtempSync(join(tmpdir(), "rap-write-gate-"));
    const path = join(dir, "db.sqlite");
    const writeGate = gated ? newWriteGate() : undefined;
    const storage = await openStorage(
      { dialect: "sqlite", path },
      { migrate: true, ...(writeGate && { writeGate }) },
    );
    try {
      worker = startWorker(import.meta.url, "support/write-holder-worker", {
        workerData: { path, ...(writeGate && { writeGate }) },
      });
      const next = () => new Promise<unknown>((resolve) => worker!.once("message", resolve));
      expect(await next()).toBe("ready");
      const holding = next();
      worker.postMessage({ holdMs: 400 });
      expect(await holding).toBe("holding");
      let ticks = 0;
      const timer = setInterval(() => ticks++, 5);
      try {
        await storage.flags.set("test", "holder", "mine", 2);
      } finally {
        clearInterval(timer);
      }
      return { ticks, value: (await storage.flags.get("test", "holder"))?.value };
    } finally {
      await storage.close();
    }
  }

  it("with the gate, the waiting thread's event loop runs on, and its write lands after the other's", async () => {
    const { ticks, value } = await ticksWhileWaiting(true);
    expect(ticks).toBeGreaterThanOrEqual(10);
    expect(value).toBe("mine");
  });

  it("without it, SQLite's busy handler stalls the waiting thread (what the gate is for)", async () => {
    const { ticks, value } = await ticksWhileWaiting(false);
    expect(ticks).toBeLessThanOrEqual(2);
    expect(value).toBe("mine");
  });
});
