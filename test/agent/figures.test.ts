/**
 * The agent's figures (src/agent/figures.ts) from a real file system and a runtime whose calls fail, sent by the real
 * Task API client with its poll to a real controller, which exports them at `/metrics`.
 */
import { afterEach, describe, expect, test } from "vitest";
import { AgentFiguresSource } from "../../src/agent/figures.js";
import { silentLogger } from "../../src/agent/log.js";
import type { Runtime } from "../../src/agent/runtime/types.js";
import { TaskApiClient } from "../../src/agent/task-api.js";
import { parsePrometheus } from "../support/prometheus.js";
import { requires } from "../support/requirements.js";
import { mountSmallDisk, type SmallDisk, smallDiskRequirement } from "../support/small-disk.js";
import { type System, startSystem } from "../support/system.js";

const ok = requires(smallDiskRequirement());
const MiB = 1024 * 1024;

describe.skipIf(!ok)("agent figures", () => {
  const disks: SmallDisk[] = [];
  let system: System | undefined;
  afterEach(async () => {
    await system?.close();
    system = undefined;
    for (const disk of disks.splice(0)) await disk.remove();
  });

  test("free space of each storage, failed runtime calls counted; sent with the poll and exported", async () => {
    const high = await mountSmallDisk(8 * MiB);
    const medium = await mountSmallDisk(4 * MiB);
    disks.push(high, medium);
    const source = new AgentFiguresSource({ high_privacy: high.path, medium_privacy: medium.path });
    const runtime = source.counting({
      kind: "local",
      inspect: async () => null,
      kill: async () => {
        throw new Error("the engine went away");
      },
    } as unknown as Runtime);
    expect(runtime.kind).toBe("local");
    await runtime.inspect("os-job-x");
    await expect(runtime.kill("os-job-x")).rejects.toThrow("the engine went away");
    await expect(runtime.kill("os-job-y")).rejects.toThrow("the engine went away");

    const figures = await source.read(2);
    expect(figures).toEqual({
      running_jobs: 2,
      runtime_errors: 2,
      storage_free_bytes: { high_privacy: 8 * MiB, medium_privacy: 4 * MiB },
    });

    system = await startSystem({ OPERATOR_TOKENS: "op" });
    const client = new TaskApiClient({
      endpoint: system.url,
      backend: "test",
      token: "agent_token",
      log: silentLogger,
    });
    expect(await client.getTasks(undefined, figures)).toEqual([]);
    const response = await fetch(`${system.url}/metrics`, { headers: { authorization: "op" } });
    const m = parsePrometheus(await response.text());
    expect(m.value("rap_agent_running_jobs", { backend: "test" })).toBe(2);
    expect(m.value("rap_agent_runtime_errors_total", { backend: "test" })).toBe(2);
    expect(m.value("rap_agent_storage_free_bytes", { backend: "test", storage: "high_privacy" })).toBe(
      8 * MiB,
    );
    expect(m.value("rap_agent_storage_free_bytes", { backend: "test", storage: "medium_privacy" })).toBe(
      4 * MiB,
    );
  });

  test("a storage that cannot be read is left out", async () => {
    const source = new AgentFiguresSource({
      high_privacy: "/nonexistent/high",
      medium_privacy: "/nonexistent/m",
    });
    expect(await source.read(0)).toEqual({ running_jobs: 0, runtime_errors: 0, storage_free_bytes: {} });
  });
});
