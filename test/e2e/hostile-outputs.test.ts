/**
 * Unusual output file names over the whole system (issue 14, item 3): the real controller and agent, the job a
 * python3 process (the local runtime) writing names that are not UTF-8, contain a backslash or a newline, or are
 * 250 bytes long. job-server sees the job succeed (not internal_error), the ordinary outputs are saved, and the
 * job's log names each refused file, escaped.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { StatusMessage } from "../../src/domain/messages.js";
import { createRap } from "../scheduler/support.js";
import { createStudyRepo, removeDir } from "../support/git-fixtures.js";
import { requires } from "../support/requirements.js";
import { startWholeSystem, type WholeSystem } from "../support/whole-system.js";

const ok = requires({ available: existsSync("/usr/bin/python3"), reason: "/usr/bin/python3 is missing" });

const LONG = `${"n".repeat(246)}.csv`;

const PROJECT = `version: '4.0'
actions:
  odd_names:
    run: python:v2 analysis/odd.py
    outputs:
      moderately_sensitive:
        tables: output/*.csv
`;

const ODD = `import os
os.makedirs("output", exist_ok=True)
for name in [b"output/good.csv", b"output/bad\\xff.csv", b"output/a\\\\b.csv", b"output/x\\ny.csv", b"output/${LONG}"]:
    with open(name, "wb") as f:
        f.write(b"a,b\\n1,2\\n")
`;

describe.skipIf(!ok)("unusual output names (whole system, local runtime)", { timeout: 60_000 }, () => {
  let ws: WholeSystem;
  let stopAgent: () => Promise<void>;
  let repo: { path: string; commit: string };
  beforeAll(async () => {
    ws = await startWholeSystem({ runtime: "local" });
    const agent = ws.startAgent();
    stopAgent = () => agent.stop();
    const study = await createStudyRepo({ files: { "project.yaml": PROJECT, "analysis/odd.py": ODD } });
    repo = { path: study.path, commit: study.commits[0]! };
  });
  afterAll(async () => {
    await stopAgent?.();
    await ws?.close();
    if (repo) await removeDir(repo.path);
  });

  test("the job succeeds, the other outputs are saved, the refused ones are named in the log", async () => {
    const rapId = await createRap(ws.system, repo, ["odd_names"], { workspace: "odd" });
    const jobs = await ws.untilFinal(rapId);
    expect(jobs.odd_names).toMatchObject({ status: "succeeded", status_message: StatusMessage.Succeeded });

    const medium = join(ws.mediumPrivacy, "workspaces", "odd");
    for (const name of ["good.csv", "x\ny.csv", LONG]) {
      expect(await readFile(join(medium, "output", name), "utf8")).toBe("a,b\n1,2\n");
    }
    const log = await readFile(join(medium, "metadata", "odd_names.log"), "utf8");
    expect(log).toContain("  output/x\\ny.csv");
    expect(log).toContain(
      "\n\nOutputs not saved:\n" +
        "  output/a\\\\b.csv     - its name contains a backslash\n" +
        "  output/bad\\xff.csv  - its name is not valid UTF-8  \n",
    );
  });
});
