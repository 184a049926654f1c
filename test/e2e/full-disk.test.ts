/**
 * The agent's storage filling up (issue 14, item 4), over the whole system: the real controller and agent, jobs run
 * in real containers (Docker) or as python3 processes (the local runtime), and the agent's high- and medium-privacy
 * storage, the job volumes with it, on a real 64 MB tmpfs. The job that fills the disk fails with a message saying so, what it
 * used is freed, and the next job runs.
 */
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { RuntimeKind } from "../../src/agent/runtime/index.js";
import { OUTPUTS_DISK_FULL_MESSAGE } from "../../src/agent/workspace/outputs.js";
import { StatusMessage } from "../../src/domain/messages.js";
import { createRap } from "../scheduler/support.js";
import { createStudyRepo, removeDir } from "../support/git-fixtures.js";
import { dockerRequirement, requires } from "../support/requirements.js";
import { mountSmallDisk, type SmallDisk, smallDiskRequirement } from "../support/small-disk.js";
import { startWholeSystem, type WholeSystem } from "../support/whole-system.js";

const smallDisk = requires(smallDiskRequirement());
const runtimes: Array<[RuntimeKind, boolean]> = [
  [
    "local",
    smallDisk &&
      requires({ available: existsSync("/usr/bin/python3"), reason: "/usr/bin/python3 is missing" }),
  ],
  ["docker", smallDisk && requires(await dockerRequirement())],
];

const DISK_BYTES = 64 * 1024 * 1024;

const PROJECT = `version: '4.0'
actions:
  fill_disk:
    run: python:v2 analysis/fill.py
    outputs:
      highly_sensitive:
        big: output/big.bin
  small:
    run: python:v2 analysis/small.py
    outputs:
      moderately_sensitive:
        counts: output/counts.csv
`;

// 40 MB of data (not zeros, so not sparse): the volume holds it, a second copy in the workspace does not fit.
const FILL = `import os
os.makedirs("output", exist_ok=True)
with open("output/big.bin", "wb") as f:
    for _ in range(40):
        f.write(os.urandom(1024 * 1024))
`;
const SMALL = `import os
os.makedirs("output", exist_ok=True)
open("output/counts.csv", "w").write("count\\n10\\n")
`;

describe.each(runtimes)(
  "a full disk on the agent (whole system, %s runtime, 64 MB tmpfs)",
  { timeout: 90_000 },
  (runtime, ok) => {
    if (!ok) {
      test.skip("needs root, and python3 or Docker (see the warning above)", () => {});
      return;
    }
    let disk: SmallDisk;
    let ws: WholeSystem;
    let stopAgent: () => Promise<void>;
    let repo: { path: string; commit: string };
    beforeAll(async () => {
      disk = await mountSmallDisk(DISK_BYTES);
      ws = await startWholeSystem({
        runtime,
        agentEnv: {
          HIGH_PRIVACY_STORAGE_BASE: join(disk.path, "high_privacy"),
          MEDIUM_PRIVACY_STORAGE_BASE: join(disk.path, "medium_privacy"),
        },
      });
      const agent = ws.startAgent();
      stopAgent = () => agent.stop();
      const study = await createStudyRepo({
        files: { "project.yaml": PROJECT, "analysis/fill.py": FILL, "analysis/small.py": SMALL },
      });
      repo = { path: study.path, commit: study.commits[0]! };
    });
    afterAll(async () => {
      await stopAgent?.();
      await ws?.close();
      await disk?.remove();
      if (repo) await removeDir(repo.path);
    });

    test("the job that fills it fails saying the disk is full, its volume is freed, and the next job succeeds", async () => {
      const fill = await createRap(ws.system, repo, ["fill_disk"], { workspace: "full" });
      const filled = await ws.untilFinal(fill);
      expect(filled.fill_disk).toMatchObject({
        status: "failed",
        status_code: "nonzero_exit",
        status_message: `${StatusMessage.NonzeroExit}: ${OUTPUTS_DISK_FULL_MESSAGE}`,
      });
      await ws.untilNoActiveTasks();
      expect(await readdir(join(disk.path, "high_privacy", "volumes"))).toEqual([]);
      expect(await ws.runtime.inspect(`os-job-${filled.fill_disk.identifier}`)).toBeNull();

      const small = await createRap(ws.system, repo, ["small"], { workspace: "full" });
      const done = await ws.untilFinal(small);
      expect(done.small).toMatchObject({ status: "succeeded", status_message: StatusMessage.Succeeded });
    });
  },
);
