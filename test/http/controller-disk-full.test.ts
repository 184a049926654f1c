/**
 * The controller's own database on a full disk (issue 14 item 4, controller side): the SQLite file on a real small
 * tmpfs, filled up. Reads keep being answered, the scheduler reports the real error (SQLITE_FULL) once rather than
 * a rollback error every pass, and everything recovers by itself when space comes back.
 */
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import pino from "pino";
import { afterEach, describe, expect, test } from "vitest";
import { openController } from "../../src/app/controller.js";
import { loadConfig } from "../../src/config/index.js";
import { ManualClock } from "../../src/domain/clock.js";
import { deterministicJobId } from "../../src/domain/ids.js";
import { FX_ACT } from "../jobs/fixtures.js";
import { createRap, studyRepo } from "../scheduler/support.js";
import { requires } from "../support/requirements.js";
import { mountSmallDisk, type SmallDisk, smallDiskRequirement } from "../support/small-disk.js";
import { SYSTEM_ENV, type System, T0_MS } from "../support/system.js";
import { TestAgent } from "../support/test-agent.js";

const ok = requires(smallDiskRequirement());

let disk: SmallDisk | undefined;
let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  await disk?.remove();
  disk = undefined;
  close = undefined;
});

/** Fills the filesystem: one file as large as it takes, then single pages until nothing more fits. */
async function fill(dir: string): Promise<string> {
  const filler = join(dir, "filler");
  await writeFile(filler, "");
  const { statfs } = await import("node:fs/promises");
  const stats = await statfs(dir);
  await writeFile(filler, Buffer.alloc(Number(stats.bavail) * Number(stats.bsize))).catch(() => {});
  return filler;
}

describe.skipIf(!ok)("the controller's database disk is full", () => {
  test("tasks are still served, the scheduler logs SQLITE_FULL once and backs off, and recovers when space is back", async () => {
    disk = await mountSmallDisk(8 * 1024 * 1024);
    const lines: { level: number; msg: string; err?: { message?: string; code?: string } }[] = [];
    const log = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const clock = new ManualClock(T0_MS);
    const config = loadConfig({ ...SYSTEM_ENV, WORKDIR: disk.path, PORT: "1" });
    const controller = await openController(config, { clock, log, statusWorkers: 0 });
    close = () => controller.close();
    await controller.app.listen({ host: "127.0.0.1", port: 0 });
    const { port } = controller.app.server.address() as { port: number };
    const url = `http://127.0.0.1:${port}`;
    const system = { url, controller, clock, tick: () => controller.scheduler.tick() } as unknown as System;
    (system as { post: System["post"] }).post = async (path, body, token = "test_token") => {
      const response = await fetch(`${url}/controller/v1${path}`, {
        method: "POST",
        headers: { authorization: token },
        body: JSON.stringify(body),
      });
      return { status: response.status, json: await response.json() };
    };
    const rap = await createRap(system, await studyRepo(FX_ACT), ["action1"]);
    const agent = new TestAgent(url, "test", "agent_token");
    const filler = await fill(disk.path);

    // A read with a write on the side (last-seen): answered.
    const polled = await fetch(`${url}/test/tasks/`, { headers: { authorization: "agent_token" } });
    expect(polled.status).toBe(200);
    await fetch(`${url}/test/tasks/`, { headers: { authorization: "agent_token" } });
    expect(lines.filter((l) => l.msg.includes("last-seen"))).toHaveLength(1);

    // The scheduler cannot start the job: it says why, once, and keeps the job pending.
    for (let pass = 0; pass < 5; pass += 1) await controller.scheduler.tick().catch(() => {});
    const errors = lines.filter((l) => l.level >= 50);
    expect(errors.map((l) => l.err?.message)).not.toContainEqual(expect.stringContaining("cannot rollback"));
    const full = errors.filter((l) => l.err?.code === "SQLITE_FULL" && !l.msg.includes("last-seen"));
    expect(full).toHaveLength(1);
    expect(full[0]!.err!.message).toBe("database or disk is full");
    expect(lines.filter((l) => l.msg.includes("job")).map((l) => l.msg)).not.toContain("error handling job");
    // A write is refused for what it is, 503, and may be sent again later.
    expect(await agent.update("nosuchtask-001", "executing")).toMatchObject({ status: 404 });
    const task = await agent.update(`${deterministicJobId(rap, "action1")}-001`, "executing");
    expect(task.status === 404 || task.status === 503).toBe(true);
    const cancel = await system.post("/rap/cancel/", { rap_id: rap, actions: ["action1"] });
    expect(cancel).toEqual({
      status: 503,
      json: {
        error: "Service unavailable",
        details:
          "The controller's database is full: nothing can be saved until there is room again; try again later",
      },
    });
    const status = await system.post("/rap/status/", { rap_ids: [rap] });
    expect(status.status).toBe(200);
    expect(status.json.jobs[0]).toMatchObject({ status_code: "created" });

    // Space comes back: the next pass starts the job, and says so.
    await rm(filler);
    await controller.scheduler.tick();
    expect((await agent.tasks()).map((t) => t.id)).toEqual([`${deterministicJobId(rap, "action1")}-001`]);
    expect(lines.some((l) => l.msg.includes("database has room again"))).toBe(true);
  });
});
