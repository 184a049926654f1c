import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { jobLogDir, volumeDir } from "../../src/agent/workspace/paths.js";
import { AgentStage } from "../../src/domain/task.js";
import { type AgentFixture, agentFixture } from "./support.js";

type Container = "none" | "running" | "exited";
type Metadata = "none" | "ok" | "error" | "other task";

let f: AgentFixture;
beforeAll(async () => {
  f = await agentFixture();
});
afterAll(() => f.cleanup());

// reference/agent.md §2.3: the state comes from the runtime and the disk only.
test.each<[Container, boolean, boolean, Metadata, AgentStage, AgentStage]>([
  // container, volume, timestamp, metadata → state, state with cancelled=true
  ["none", false, false, "none", AgentStage.Unknown, AgentStage.Unknown],
  ["none", true, false, "none", AgentStage.Unknown, AgentStage.Prepared],
  ["none", true, true, "none", AgentStage.Prepared, AgentStage.Prepared],
  ["running", true, true, "none", AgentStage.Executing, AgentStage.Executing],
  ["exited", true, true, "none", AgentStage.Executed, AgentStage.Executed],
  ["none", false, false, "ok", AgentStage.Finalized, AgentStage.Finalized],
  ["exited", true, true, "ok", AgentStage.Finalized, AgentStage.Finalized],
  ["running", true, false, "error", AgentStage.Error, AgentStage.Error],
  ["none", true, true, "other task", AgentStage.Prepared, AgentStage.Prepared],
])(
  "container %s, volume %s, timestamp %s, metadata %s → %s (cancelled: %s)",
  async (container, volume, timestamp, metadata, state, cancelledState) => {
    const job = f.job();
    const dir = volumeDir(f.layout, job.id);
    if (volume) await mkdir(dir, { recursive: true });
    if (timestamp) await writeFile(join(dir, ".opensafely-timestamp"), "1750000000000000000");
    if (container !== "none") {
      f.runtime.program = () => () => (container === "running" ? new Promise<number>(() => {}) : 0);
      await f.runtime.start({
        name: `os-job-${job.id}`,
        image: "i",
        args: [],
        env: {},
        volumeDir: dir,
        cpuCount: null,
        memoryLimit: null,
        network: { kind: "none" },
        user: null,
        labels: {},
      });
      await (container === "exited" ? f.runtime.finished(`os-job-${job.id}`) : Promise.resolve());
    }
    if (metadata !== "none") {
      const logDir = jobLogDir(f.layout, job);
      await mkdir(logDir, { recursive: true });
      const taskId = metadata === "other task" ? "another-task" : job.task_id;
      const error = metadata === "error" ? { exception: "E", message: "m", traceback: "" } : null;
      await writeFile(
        join(logDir, "metadata.json"),
        JSON.stringify({ task_id: taskId, timestamp_ns: 5, error }),
      );
    }
    const executor = f.executor();
    const status = await executor.getStatus(job);
    expect(status.state).toBe(state);
    expect((await executor.getStatus(job, { cancelled: true })).state).toBe(cancelledState);
    if (state === AgentStage.Prepared) expect(status.timestampNs).toBe(1750000000000000000);
    if (metadata === "ok" || metadata === "error") expect(status.timestampNs).toBe(5);
  },
);
